namespace RxStreams.Internal;

/// <summary>What one call of a <see cref="FrameDecoder{TFrame}"/> found at the start of the buffer.</summary>
/// <remarks>
/// The statuses that drop bytes let a decoder skip input without emitting anything (tokio's <c>LinesCodec</c> discards
/// by advancing its buffer), so no sentinel frame and no filtering operator are needed.
/// </remarks>
internal enum DecodeStatus
{
    /// <summary>
    /// No frame yet: the buffer holds part of one (or nothing). At the end of the input, leftover bytes are then a frame
    /// cut short, which <see cref="FrameDriver{TFrame}"/> reports as <see cref="IncompleteReadException"/>.
    /// </summary>
    NeedMoreData,

    /// <summary>A frame, which took up the first <c>consumed</c> bytes (at least 1; at the end, 0 marks the last frame).</summary>
    Frame,

    /// <summary>The first <c>consumed</c> bytes (at least 1) belong to a frame being dropped; decode again after them.</summary>
    Skipped,

    /// <summary>
    /// A frame over the limit starts here and is dropped (<see cref="Framing.OverflowPolicy.Skip"/>): as
    /// <see cref="Skipped"/>, and the driver counts a limit overrun.
    /// </summary>
    Overrun,

    /// <summary>At the end of the input only: no more frames, and any bytes left are not a frame (a clean end).</summary>
    End,
}
