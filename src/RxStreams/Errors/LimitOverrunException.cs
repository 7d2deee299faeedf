namespace RxStreams;

/// <summary>
/// A frame (line, separator-terminated chunk, length-prefixed frame) is longer than the configured limit:
/// asyncio's <c>LimitOverrunError</c>.
/// </summary>
/// <remarks>
/// <para>
/// This is how RxStreams keeps a hostile peer from making a process buffer without bound: the check runs before more
/// data is buffered, so at most <c>limit</c> plus one received chunk is ever held for a frame.
/// </para>
/// <para>
/// <see cref="ConnectionReader.ReadUntilAsync(ReadOnlyMemory{byte}, CancellationToken)"/> leaves the data in the reader's
/// buffer (skip it with <c>ReadAsync(Consumed)</c>, as in asyncio); <see cref="ConnectionReader.ReadLineAsync"/> discards
/// the over-long line first (asyncio's <c>readline</c> raises <c>ValueError</c> there; RxStreams keeps the typed exception).
/// The framing operators fail the stream with it.
/// </para>
/// </remarks>
public sealed class LimitOverrunException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was exceeded.</param>
    /// <param name="consumed">asyncio's <c>consumed</c>: how many bytes can be skipped before the next search.</param>
    public LimitOverrunException(string message, long consumed)
        : base(message)
    {
        Consumed = consumed;
    }

    /// <summary>
    /// asyncio's <c>consumed</c>. When the separator was found, the index where it starts; when it was not found,
    /// <c>bufferLength + 1 - separatorLength</c> (the bytes that can no longer be part of a separator).
    /// </summary>
    public long Consumed { get; }
}
