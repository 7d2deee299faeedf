namespace RxStreams.Framing;

/// <summary>
/// Cuts frames out of a byte stream: the one decoder contract behind both the framing operators
/// (<see cref="FramingExtensions"/>) and the reader's pull methods, so the same bytes always give the same frames and the
/// same errors, however they were split into chunks.
/// </summary>
/// <typeparam name="TFrame">What a frame decodes to: bytes, text, a protocol message.</typeparam>
/// <remarks>
/// <para>
/// A decoder instance serves one stream and may keep state between calls (a scan position, a parsed header), so it does
/// not search the same bytes twice. Between calls that return <see langword="false"/>, the buffer it is given starts with
/// the same bytes and only grows at the end; after a call that returns <see langword="true"/>, it starts
/// <c>consumed</c> bytes later.
/// </para>
/// <para>
/// Ownership: <c>buffer</c> is immutable and is never reused or overwritten, so a frame may be a slice of it and still
/// belongs to whoever receives it (see docs/contract.md, guarantee 1 "Ownership").
/// </para>
/// <para>
/// Limits: a decoder must refuse, with <see cref="LimitOverrunException"/>, any frame it would have to buffer beyond its
/// limit, and should do so as soon as the buffer proves the frame too long rather than when it ends.
/// </para>
/// </remarks>
public interface IFrameDecoder<TFrame>
{
    /// <summary>Tries to decode one frame from the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Every byte received and not yet consumed.</param>
    /// <param name="frame">The frame, when the method returns <see langword="true"/>.</param>
    /// <param name="consumed">
    /// How many bytes at the start of <paramref name="buffer"/> the frame took up (headers and separators included);
    /// at least 1 when the method returns <see langword="true"/>.
    /// </param>
    /// <returns><see langword="true"/> when a frame was decoded; <see langword="false"/> when more bytes are needed.</returns>
    /// <exception cref="LimitOverrunException">The frame is longer than the decoder's limit.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a valid frame.</exception>
    bool TryDecode(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed);

    /// <summary>
    /// Called at the end of the stream, after <see cref="TryDecode"/> has returned <see langword="false"/>, and again
    /// for as long as it returns <see langword="true"/>.
    /// </summary>
    /// <param name="buffer">The bytes left over; may be empty.</param>
    /// <param name="frame">A last frame made of the leftover bytes, when the method returns <see langword="true"/>.</param>
    /// <param name="consumed">How many bytes the last frame took up.</param>
    /// <returns><see langword="true"/> when the leftover bytes make a last frame; <see langword="false"/> when the stream ended cleanly.</returns>
    /// <exception cref="IncompleteReadException">The stream ended inside a frame; the leftover bytes are in <see cref="IncompleteReadException.Partial"/>.</exception>
    bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed);
}
