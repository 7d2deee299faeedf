namespace RxStreams.Internal;

/// <summary>
/// What <see cref="ConnectionReader.ReadChunksAsync"/> returns: the reader's chunks, each read only when the consumer asks.
/// A pull framing operator applied to it decodes in the reader's own buffer instead of copying the chunks (see
/// <see cref="AsyncFramingOperator{TFrame}"/>).
/// </summary>
internal sealed class ConnectionChunks(ConnectionReader reader, CancellationToken cancellationToken) : IAsyncEnumerable<ReadOnlyMemory<byte>>, IOwnedMemorySource
{
    public ConnectionReader Reader => reader;

    /// <summary>The token given to <c>ReadChunksAsync</c>; the one given to an enumeration is linked with it.</summary>
    public CancellationToken CancellationToken => cancellationToken;

    /// <summary>The chunks belong to the consumer (ReadAsync's contract), so operators adopt them without copying.</summary>
    public bool EmitsOwnedMemory => true;

    public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        reader.ReadChunksCoreAsync(CancellationToken).GetAsyncEnumerator(cancellationToken);
}
