using System.Runtime.CompilerServices;
using RxStreams.Framing;
using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>
/// What every length-prefixed decoder shares once its header is read: wait for the whole frame, emit its payload as a
/// slice, or skip a frame that is too long without buffering it. Subclasses only read their header.
/// </summary>
/// <remarks>
/// <code>
/// state        | input                      | action
/// Head         | header incomplete          | wait
/// Head         | header: frame of n bytes   | too long -> Fail: LimitOverrunException(consumed = n); Skip: go to Skip(n)
///              |                            | else go to Body(payloadStart, n)
/// Body(p, n)   | n bytes                    | emit buffer[p..n], consume n, go to Head
/// Skip(r)      | k bytes                    | drop min(k, r) (Overrun the first time, then Skipped); Head when r reaches 0
/// end of input | Skip / empty / partial     | clean end / clean end / NeedMoreData (the driver raises IncompleteReadException(partial, n or null))
/// </code>
/// <para>Every decision depends only on the header bytes, so errors and frames are chunk-invariant.</para>
/// </remarks>
internal abstract class LengthDelimitedDecoder(OverflowPolicy overflow) : FrameDecoder<ReadOnlyMemory<byte>>
{
    private int _payloadStart;
    private int _frameLength = -1; // Body when >= 0
    private Int128 _skipRemaining; // Skip when > 0

    /// <summary>Whether the next byte is a header's first (not inside a frame's body, nor a frame being skipped).</summary>
    protected bool IsBetweenFrames => _skipRemaining == 0 && _frameLength < 0;

    public override long? ExpectedFrameLength => _frameLength >= 0 ? _frameLength : null;

    /// <summary>Reads the header at the start of <paramref name="span"/>.</summary>
    /// <param name="span">The buffered bytes.</param>
    /// <param name="frameLength">The whole frame's length on the wire, header included.</param>
    /// <param name="payloadStart">Where the emitted frame starts.</param>
    /// <param name="tooLong">When the frame is longer than allowed, what the <see cref="LimitOverrunException"/> says; else null.</param>
    /// <returns><see langword="false"/> when the header is not complete yet.</returns>
    /// <exception cref="InvalidDataException">The header is malformed.</exception>
    protected abstract bool TryReadHeader(ReadOnlySpan<byte> span, out Int128 frameLength, out int payloadStart, out string? tooLong);

    public override DecodeStatus Decode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        // The out values are set per branch, not up front: stores through them are not free on the per-frame path.
        if (_skipRemaining > 0)
        {
            frame = default;
            return Skip(buffer.Length, DecodeStatus.Skipped, out consumed);
        }

        if (_frameLength < 0)
        {
            if (!TryReadHeader(buffer.Span, out Int128 frameLength, out int payloadStart, out string? tooLong))
            {
                frame = default;
                consumed = 0;
                return DecodeStatus.NeedMoreData;
            }

            if (tooLong is not null)
            {
                frame = default;
                return Overrun(frameLength, tooLong, buffer.Length, out consumed);
            }

            _payloadStart = payloadStart;
            _frameLength = (int)frameLength;
        }

        if (buffer.Length < _frameLength)
        {
            frame = default;
            consumed = 0;
            return DecodeStatus.NeedMoreData;
        }

        frame = buffer[_payloadStart.._frameLength];
        consumed = _frameLength;
        _frameLength = -1;
        return DecodeStatus.Frame;
    }

    /// <summary>
    /// Whole frames within the limit, each header read and its payload sliced in one loop with no per-frame call into
    /// the driver: the run that pull framing decodes ahead. Stops before a header or body not fully buffered, a frame
    /// over the limit, or a header that is not valid, leaving each to <see cref="Decode"/>, which reads that header again
    /// and reports it as it always does.
    /// </summary>
    public override int DecodeRun(ReadOnlySpan<byte> buffer, int bufferStart, Span<FrameSlice> frames, Span<int> bytesLeftAfter)
    {
        if (!IsBetweenFrames)
        {
            return 0; // in the middle of a frame: the general path
        }

        int start = 0;
        int count = 0;
        try
        {
            while (count < frames.Length
                && TryReadHeader(buffer[start..], out Int128 frameLength, out int payloadStart, out string? tooLong)
                && tooLong is null)
            {
                // Within the limit, so it fits an int (as Decode has it): int compares, not Int128's two-word ones.
                int length = (int)frameLength;
                if (length <= 0 || length > buffer.Length - start)
                {
                    break; // empty (it breaks the driver's contract, Decode reports it), or not all buffered yet
                }

                int end = start + length;
                frames[count] = new FrameSlice(bufferStart + start + payloadStart, end - start - payloadStart);
                bytesLeftAfter[count++] = buffer.Length - end;
                start = end;
            }
        }
        catch (InvalidDataException)
        {
            // A header that is not valid: the frames before it stand, and Decode meets the same header and throws.
        }

        return count;
    }

    public override DecodeStatus DecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        frame = default;
        consumed = 0;
        if (_skipRemaining > 0)
        {
            // The input ended inside a frame being skipped: it was dropped already, so this is a clean end.
            _skipRemaining = 0;
            return DecodeStatus.End;
        }

        return DecodeStatus.NeedMoreData; // nothing left, or a frame cut short (Expected is its length if the header was read)
    }

    public override void Reset()
    {
        _frameLength = -1;
        _skipRemaining = 0;
    }

    /// <summary>A frame longer than allowed: fails, or starts skipping it. Out of line: it is never on the per-frame path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DecodeStatus Overrun(Int128 frameLength, string tooLong, int available, out int consumed)
    {
        if (overflow == OverflowPolicy.Fail)
        {
            throw new LimitOverrunException(tooLong, (long)Int128.Min(frameLength, long.MaxValue));
        }

        _skipRemaining = frameLength;
        return Skip(available, DecodeStatus.Overrun, out consumed);
    }

    private DecodeStatus Skip(int available, DecodeStatus status, out int consumed)
    {
        consumed = (int)Int128.Min(_skipRemaining, available);
        if (consumed == 0)
        {
            return DecodeStatus.NeedMoreData;
        }

        _skipRemaining -= consumed;
        return status;
    }
}
