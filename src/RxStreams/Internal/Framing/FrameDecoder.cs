using RxStreams.Framing;

namespace RxStreams.Internal;

/// <summary>
/// The decoder contract that <see cref="FrameDriver{TFrame}"/> runs: the built-in decoders derive from it, and
/// <see cref="UserFrameDecoder{TFrame}"/> wraps any public <see cref="IFrameDecoder{TFrame}"/>.
/// </summary>
/// <remarks>
/// <para>
/// A decoder is pure: it reads the buffer it is given and its own state, and reports what it found. It does not consume,
/// count metrics, touch timeouts or build <see cref="IncompleteReadException"/>: the driver does all of that, the same way
/// for the framing operators and for the pull methods. It may throw <see cref="LimitOverrunException"/> or
/// <see cref="InvalidDataException"/>.
/// </para>
/// <para>
/// Buffer rules, as for <see cref="IFrameDecoder{TFrame}"/>: between calls that consume nothing, the buffer starts with
/// the same bytes and only grows at the end; after a call that reports <c>consumed</c> bytes, it starts that much later.
/// Whoever consumes the buffer behind the decoder's back calls <see cref="Reset"/> first.
/// </para>
/// </remarks>
/// <typeparam name="TFrame">What a frame decodes to.</typeparam>
internal abstract class FrameDecoder<TFrame>
{
    /// <summary>
    /// The length of the frame being decoded, when its header said so; <see cref="IncompleteReadException.Expected"/>
    /// when the input ends or fails inside it.
    /// </summary>
    public virtual long? ExpectedFrameLength => null;

    /// <summary>
    /// Whether frames depend on the bytes alone, so that a pull consumer's frames may be decoded before it asks for them
    /// (the built-in decoders). A user's decoder is not assumed to be: push runs the consumer between two frames, and a
    /// decoder may rely on that.
    /// </summary>
    public virtual bool DecodesAhead => true;

    /// <summary>The decoder's name in an error that says it broke the contract.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Decodes what is at the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Every byte received and not yet consumed; after a drop, possibly empty.</param>
    /// <param name="frame">The frame, with <see cref="DecodeStatus.Frame"/>.</param>
    /// <param name="consumed">How many bytes the frame took up, or were dropped.</param>
    /// <returns><see cref="DecodeStatus.NeedMoreData"/>, <see cref="DecodeStatus.Frame"/>, <see cref="DecodeStatus.Skipped"/> or <see cref="DecodeStatus.Overrun"/>.</returns>
    public abstract DecodeStatus Decode(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed);

    /// <summary>
    /// Decodes a run of plain frames from the start of <paramref name="buffer"/> in one loop, for a consumer that takes
    /// frames decoded ahead (pull framing): frames that are neither dropped, over the limit nor cut short, stopping before
    /// anything else, which the caller then decodes with <see cref="Decode"/>. The run consumes nothing itself: the caller
    /// consumes through the last end, and the decoder's state refers to the buffer's start after that.
    /// </summary>
    /// <param name="buffer">Every byte received and not yet consumed.</param>
    /// <param name="bufferStart">Where <paramref name="buffer"/> starts in the read buffer's array: the frames are
    /// slices of that array.</param>
    /// <param name="frames">Where the run's frames go, as slices of the array; its length bounds the run.</param>
    /// <param name="bytesLeftAfter">For each frame, how many of <paramref name="buffer"/>'s bytes follow it (the
    /// buffer's length less the frame's end): what the caller keeps to put back frames it never hands out.</param>
    /// <returns>How many frames were decoded; 0 (the default) when the decoder has no run to offer.</returns>
    public virtual int DecodeRun(ReadOnlySpan<byte> buffer, int bufferStart, Span<FrameSlice> frames, Span<int> bytesLeftAfter) => 0;

    /// <summary>Decodes the bytes left at the end of the input, once <see cref="Decode"/> needs more; called again after a frame.</summary>
    /// <param name="buffer">The bytes left; may be empty.</param>
    /// <param name="frame">A last frame, with <see cref="DecodeStatus.Frame"/>.</param>
    /// <param name="consumed">How many bytes the last frame took up (0 ends the input after it).</param>
    /// <returns>
    /// <see cref="DecodeStatus.Frame"/>; <see cref="DecodeStatus.End"/> for a clean end; <see cref="DecodeStatus.NeedMoreData"/>
    /// when the bytes left (if any) are a frame cut short.
    /// </returns>
    public abstract DecodeStatus DecodeAtEnd(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed);

    /// <summary>Forgets any position or state tied to the buffer's current start: someone else consumed it, or the input failed.</summary>
    public virtual void Reset()
    {
    }
}
