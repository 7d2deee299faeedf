namespace RxStreams.Internal;

/// <summary>
/// What <see cref="ConnectionReader.ReadChunksAsync"/> returns: the reader's chunks, each read only when the consumer asks.
/// A pull framing operator applied to it decodes in the reader's own buffer instead of copying the chunks (see
/// <see cref="AsyncFramingOperator{TFrame}"/>).
/// </summary>
internal sealed class ConnectionChunks(ConnectionReader reader, CancellationToken sourceToken)
    : IAsyncEnumerable<ReadOnlyMemory<byte>>, IOwnedMemorySource, IInPlaceFrameSource, IFrameTimeoutSource
{
    /// <summary>The chunks belong to the consumer (ReadAsync's contract), so operators adopt them without copying.</summary>
    public bool EmitsOwnedMemory => true;

    /// <summary>The reader's connection's frame timeout.</summary>
    public ConnectionWatchdog? FrameWatchdog => reader.Watchdog;

    public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        reader.ReadChunksCoreAsync(sourceToken).GetAsyncEnumerator(cancellationToken); // the iterator links the two tokens

    /// <summary>Decodes in the reader's buffer; the token given to <c>ReadChunksAsync</c> is linked with the enumeration's.</summary>
    public IAsyncEnumerator<TFrame> EnumerateFrames<TFrame>(FrameDecoder<TFrame> decoder, CancellationToken enumerationToken) =>
        reader.EnumerateFrames(decoder, sourceToken, enumerationToken);
}
