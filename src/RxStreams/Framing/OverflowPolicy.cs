namespace RxStreams.Framing;

/// <summary>
/// What a framing operator does with a frame longer than its limit: the one policy shared by
/// <see cref="FramingExtensions.Lines"/>, <see cref="FramingExtensions.Until(IObservable{ReadOnlyMemory{byte}}, ReadOnlyMemory{byte}, int, OverflowPolicy)"/>,
/// <see cref="FramingExtensions.LengthPrefixed"/>, <see cref="FramingExtensions.VarintPrefixed"/> and
/// <see cref="FramingExtensions.LinesText"/>.
/// </summary>
/// <remarks>
/// Under either policy no over-long frame is ever buffered (see docs/contract.md, guarantee 6 "Limits"): the limit is
/// checked before more of the frame is kept, from the header for length-prefixed frames and each time the buffer grows
/// for separated ones.
/// </remarks>
public enum OverflowPolicy
{
    /// <summary>
    /// The default: the stream fails with <see cref="LimitOverrunException"/> as soon as the frame is known to be too long.
    /// Frames before it are delivered first. A framed stream that lost sync is not worth continuing by default.
    /// </summary>
    Fail,

    /// <summary>
    /// The over-long frame is dropped whole, through its end, and decoding goes on with the next frame (tokio's
    /// <c>LinesCodec</c> discard mode, Netty's <c>discardingTooLongFrame</c>). Nothing is reported for it.
    /// </summary>
    /// <remarks>
    /// <para>
    /// What is skipped: for separated frames (lines, <c>Until</c>), every byte up to and including the next separator,
    /// discarded as it arrives, so at most the limit plus one chunk is ever held; for length-prefixed frames, exactly the
    /// length the header announces (header included), counted down as it arrives and never buffered.
    /// </para>
    /// <para>
    /// If the input ends inside a frame being skipped, the stream completes normally: that frame was already dropped.
    /// Malformed input (a negative length, an invalid varint) still fails the stream with
    /// <see cref="InvalidDataException"/>: there is no frame end to skip to.
    /// </para>
    /// <para>
    /// Security: a peer can make the receiver discard any amount of data this way (a 10 GB length is read and thrown
    /// away at line speed). Bound the connection's lifetime or bytes when that matters.
    /// </para>
    /// </remarks>
    Skip,
}
