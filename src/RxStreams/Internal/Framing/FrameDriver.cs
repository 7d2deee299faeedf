using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>
/// The one loop that runs a <see cref="FrameDecoder{TFrame}"/> over a <see cref="ReadBuffer"/>, under the framing
/// operators (push), the pull methods and <c>ReadFramesAsync</c> alike: the same bytes give the same frames and the same
/// errors by construction (see docs/contract.md, guarantee 2 "Chunk-invariance"), as tokio-util's one <c>FramedImpl</c> loop does for its codecs.
/// </summary>
/// <remarks>
/// <para>What the driver owns, so that decoders stay pure:</para>
/// <code>
/// consuming      | frames and dropped bytes leave the buffer; every count is checked (between 1, or 0 for a last frame,
///                | and all the bytes buffered): a decoder that consumed nothing would loop forever
/// skipping       | Skipped and Overrun drop bytes and decode again; nothing is emitted for them
/// metrics        | frames decoded; limit overruns, thrown (LimitOverrunException passing through) or skipped (Overrun)
/// frame timeout  | the clock stops at each frame or drop, and starts when the decoder needs more with part of a frame buffered
/// the end        | last frames until one consumed nothing or the decoder ends; bytes of a frame cut short by the end or by
///                | a failure of the input become IncompleteReadException(partial, expected, inner), and the buffer is cleared
/// </code>
/// <para>
/// It knows nothing of where the bytes come from (a connection's reader, any observable, an async sequence): the caller
/// fills the buffer and calls <see cref="Drain"/> or <see cref="TryNext"/>, then <see cref="TryNextAtEnd"/> or
/// <see cref="Fail"/> when the input ends. Decoder errors leave the buffer as it was (readuntil's
/// <see cref="LimitOverrunException.Consumed"/> refers to it).
/// </para>
/// <para>A mutable struct: keep it in a non-readonly field or a local.</para>
/// </remarks>
/// <typeparam name="TFrame">What a frame decodes to.</typeparam>
internal struct FrameDriver<TFrame>
{
    private readonly FrameDecoder<TFrame> _decoder;
    private readonly ConnectionWatchdog? _watchdog;
    private bool _ended; // the end of the input was decoded: no more frames

    /// <summary>Creates a driver for <paramref name="decoder"/>.</summary>
    /// <param name="decoder">The decoder, which keeps its own state between calls.</param>
    /// <param name="watchdog">The frame timeout of the connection the bytes come from, if any.</param>
    public FrameDriver(FrameDecoder<TFrame> decoder, ConnectionWatchdog? watchdog)
    {
        _decoder = decoder;
        _watchdog = watchdog;
    }

    /// <summary>The length of the frame being decoded, if its header said so.</summary>
    public readonly long? ExpectedFrameLength => _decoder.ExpectedFrameLength;

    /// <summary>
    /// Decodes every complete frame buffered into <paramref name="consumer"/>, until the decoder needs more bytes or the
    /// consumer stops. Frames are counted once per call, not per frame.
    /// </summary>
    /// <returns>
    /// The decoder's error, if it threw (returned, not thrown, so that an exception of the consumer is never mistaken for
    /// one of the input); otherwise <see langword="null"/>.
    /// </returns>
    public readonly Exception? Drain<TConsumer>(ref ReadBuffer buffer, ref TConsumer consumer)
        where TConsumer : struct, IFrameConsumer<TFrame>
    {
        int frames = 0;
        while (buffer.Length > 0)
        {
            TFrame frame;
            try
            {
                if (!DecodeNext(ref buffer, out frame))
                {
                    break;
                }
            }
            catch (Exception error)
            {
                Metrics.FramesDecoded(frames);
                return DecoderFailed(error);
            }

            frames++;
            if (!consumer.OnFrame(frame))
            {
                break;
            }
        }

        Metrics.FramesDecoded(frames);
        return null;
    }

    /// <summary>
    /// Decodes up to <c>frames.Length</c> buffered frames before a pull consumer asks for them, in one loop as
    /// <see cref="Drain"/> does push, and records the bytes left buffered after each, so that the frames never taken can
    /// be put back (<see cref="ReadBuffer.Unconsume"/>). Only for decoders that <see cref="FrameDecoder{TFrame}.DecodesAhead"/>
    /// and whose frames are not slices of the buffer (text): those go through <see cref="DecodeSlicesAhead"/>.
    /// </summary>
    /// <returns>How many frames were decoded; 0 when the decoder needs more bytes (or failed at once).</returns>
    public readonly int DecodeAhead(ref ReadBuffer buffer, Span<TFrame> frames, Span<int> bytesLeftAfter, out Exception? error)
    {
        error = null;
        int count = 0;
        try
        {
            while (count < frames.Length && buffer.Length > 0 && DecodeNext(ref buffer, out var frame))
            {
                frames[count] = frame;
                bytesLeftAfter[count++] = buffer.Length;
            }
        }
        catch (Exception decoderError)
        {
            error = DecoderFailed(decoderError);
        }

        Metrics.FramesDecoded(count);
        return count;
    }

    /// <summary>
    /// <see cref="DecodeAhead"/> for frames that are slices of the buffer (<see cref="ReadOnlyMemory{T}"/> of bytes, from
    /// the built-in decoders): each frame is recorded as where it lies in the buffer's <paramref name="array"/>, which
    /// holds no object reference. The decoder's run of plain frames comes first (no call per frame), then one frame the
    /// general way: whatever stopped the run (a frame cut short, over the limit, or dropped).
    /// </summary>
    /// <param name="buffer">The read buffer.</param>
    /// <param name="frames">Where the frames go.</param>
    /// <param name="bytesLeftAfter">The bytes buffered after each frame.</param>
    /// <param name="array">The buffer's array, which every frame is a slice of.</param>
    /// <param name="error">The decoder's error behind the frames, if it threw.</param>
    /// <returns>How many frames were decoded; 0 when the decoder needs more bytes (or failed at once).</returns>
    public readonly int DecodeSlicesAhead(ref ReadBuffer buffer, Span<FrameSlice> frames, Span<int> bytesLeftAfter, out byte[]? array, out Exception? error)
    {
        Debug.Assert(typeof(TFrame) == typeof(ReadOnlyMemory<byte>));
        error = null;
        array = null;
        int count = 0;
        try
        {
            while (count < frames.Length && buffer.Length > 0)
            {
                var span = buffer.ExposeInArray(out array, out int start);
                int run = _decoder.DecodeRun(span, start, frames[count..], bytesLeftAfter[count..]);
                if (run > 0)
                {
                    count += run;
                    buffer.Consume(buffer.Length - bytesLeftAfter[count - 1]);
                    _watchdog?.EndFrame();
                    if (count == frames.Length || buffer.Length == 0)
                    {
                        break;
                    }
                }

                if (!DecodeNext(ref buffer, out var frame))
                {
                    break;
                }

                frames[count] = SliceOf(Unsafe.As<TFrame, ReadOnlyMemory<byte>>(ref frame), array);
                bytesLeftAfter[count++] = buffer.Length;
            }
        }
        catch (Exception decoderError)
        {
            error = DecoderFailed(decoderError);
        }

        Metrics.FramesDecoded(count);
        return count;
    }

    /// <summary>Where <paramref name="frame"/> lies in <paramref name="array"/>: a built-in decoder's frames are slices of the buffer it was given.</summary>
    private static FrameSlice SliceOf(ReadOnlyMemory<byte> frame, byte[] array)
    {
        if (!MemoryMarshal.TryGetArray(frame, out var segment) || !ReferenceEquals(segment.Array, array))
        {
            throw new InvalidOperationException("A built-in decoder returned a frame that is not a slice of its buffer.");
        }

        return new FrameSlice(segment.Offset, segment.Count);
    }

    /// <summary>Decodes the next frame buffered (a pull read, one frame at a time).</summary>
    /// <returns><see langword="false"/> when the decoder needs more bytes.</returns>
    /// <exception cref="LimitOverrunException">The frame is over the decoder's limit.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a valid frame.</exception>
    public readonly bool TryNext(ref ReadBuffer buffer, out TFrame frame)
    {
        try
        {
            if (buffer.Length > 0 && DecodeNext(ref buffer, out frame))
            {
                Metrics.FramesDecoded(1);
                return true;
            }
        }
        catch (LimitOverrunException) when (CountOverrun())
        {
            throw; // not reached: the filter only counts the overrun on its way through
        }

        frame = default!;
        return false;
    }

    /// <summary>
    /// Decodes what is left at the end of the input: the last frames, one per call, then <see langword="false"/>.
    /// A last frame that consumed nothing (an empty rest) is the last one: asking again would loop.
    /// </summary>
    /// <exception cref="IncompleteReadException">The input ended inside a frame; the buffer is cleared, its bytes are in <see cref="IncompleteReadException.Partial"/>.</exception>
    public bool TryNextAtEnd(ref ReadBuffer buffer, out TFrame frame)
    {
        while (!_ended)
        {
            DecodeStatus status;
            int consumed;
            try
            {
                status = _decoder.DecodeAtEnd(buffer.Expose(), out frame, out consumed);
            }
            catch (IncompleteReadException)
            {
                buffer.Clear(); // a custom decoder's own: the bytes travel in it, as in asyncio, which clears its buffer
                throw;
            }
            catch (LimitOverrunException) when (CountOverrun())
            {
                throw; // not reached
            }

            switch (status)
            {
                case DecodeStatus.Frame:
                    if ((uint)consumed > (uint)buffer.Length)
                    {
                        throw BrokenContract(consumed, buffer.Length, "a last frame", 0);
                    }

                    buffer.Consume(consumed);
                    _ended = consumed == 0;
                    Metrics.FramesDecoded(1);
                    return true;
                case DecodeStatus.End:
                    _ended = true;
                    return false;
                case DecodeStatus.NeedMoreData:
                    _ended = true;
                    return buffer.Length == 0 ? false : throw Incomplete(ref buffer, inner: null);
                default:
                    Drop(ref buffer, status, consumed);
                    break;
            }
        }

        frame = default!;
        return false;
    }

    /// <summary>
    /// The end of the input for a read that returns exactly one frame (<c>readline</c>, <c>readuntil</c>,
    /// <c>readexactly</c>): the last frame, or else <see cref="IncompleteReadException"/>, which asyncio raises even when
    /// nothing at all is left.
    /// </summary>
    /// <exception cref="IncompleteReadException">No frame is left.</exception>
    public TFrame LastFrame(ref ReadBuffer buffer) =>
        TryNextAtEnd(ref buffer, out var frame) ? frame : throw Incomplete(ref buffer, inner: null);

    /// <summary>
    /// The input failed with <paramref name="input"/>: the error to report. Bytes of an unfinished frame travel with it in
    /// an <see cref="IncompleteReadException"/> (see docs/contract.md, guarantee 10 "Clear errors, nothing lost"), and the buffer is cleared.
    /// </summary>
    public readonly Exception Fail(ref ReadBuffer buffer, Exception input) =>
        buffer.Length == 0 ? input : Incomplete(ref buffer, input);

    /// <summary>The loop: drops what the decoder skips, and stops at a frame or when it needs more bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool DecodeNext(ref ReadBuffer buffer, out TFrame frame)
    {
        while (true)
        {
            var status = _decoder.Decode(buffer.Expose(), out frame, out int consumed);
            if (status == DecodeStatus.Frame)
            {
                // One unsigned compare for 1 <= consumed <= buffered.
                if ((uint)(consumed - 1) >= (uint)buffer.Length)
                {
                    throw BrokenContract(consumed, buffer.Length, "a frame", 1);
                }

                buffer.Consume(consumed);
                _watchdog?.EndFrame();
                return true;
            }

            if (status == DecodeStatus.NeedMoreData)
            {
                if (buffer.Length > 0)
                {
                    _watchdog?.BeginFrame(); // part of a frame waits for more bytes: its clock runs until it is complete
                }

                return false;
            }

            // Skipped bytes: decode again, even an empty buffer (a decoder may have more to say after dropping, such as
            // readline's overrun once it resynchronised).
            Drop(ref buffer, status, consumed);
        }
    }

    // Out of line (here and in the throwers below): skipping is rare, and inlined it would spend the framing loop's
    // inlining budget that the per-frame calls need.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void Drop(ref ReadBuffer buffer, DecodeStatus status, int consumed)
    {
        if (status is not (DecodeStatus.Skipped or DecodeStatus.Overrun))
        {
            throw new InvalidOperationException($"The decoder {_decoder.Name} reported {status} where it cannot.");
        }

        if ((uint)(consumed - 1) >= (uint)buffer.Length)
        {
            throw BrokenContract(consumed, buffer.Length, "skipped bytes", 1);
        }

        if (status == DecodeStatus.Overrun)
        {
            Metrics.LimitOverrun();
        }

        buffer.Consume(consumed);
        _watchdog?.EndFrame(); // no frame is held while one is dropped
    }

    private readonly IncompleteReadException Incomplete(ref ReadBuffer buffer, Exception? inner)
    {
        var partial = buffer.Expose();
        buffer.Clear();
        var error = new IncompleteReadException(partial, _decoder.ExpectedFrameLength, inner);
        _decoder.Reset(); // its state described the frame that was cut short
        return error;
    }

    private static Exception DecoderFailed(Exception error)
    {
        if (error is LimitOverrunException)
        {
            Metrics.LimitOverrun();
        }

        return error;
    }

    private static bool CountOverrun()
    {
        Metrics.LimitOverrun();
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly InvalidOperationException BrokenContract(int consumed, int buffered, string what, int minimum) =>
        new($"The decoder {_decoder.Name} reported {what} that consumed {consumed} of {buffered} bytes; it must consume between {minimum} and all of them.");
}
