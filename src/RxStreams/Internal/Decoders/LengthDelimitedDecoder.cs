using System.Runtime.CompilerServices;
using RxStreams.Framing;

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
/// Skip(r)      | k bytes                    | drop min(k, r) as a skipped-frame marker; Head when r reaches 0
/// end of input | Skip / empty / partial     | clean end / clean end / IncompleteReadException(partial, n or null)
/// </code>
/// <para>Every decision depends only on the header bytes, so errors and frames are chunk-invariant.</para>
/// </remarks>
internal abstract class LengthDelimitedDecoder(OverflowPolicy overflow) : IFrameDecoder<ReadOnlyMemory<byte>>, IExpectsFrameLength
{
    private int _payloadStart;
    private int _frameLength = -1; // Body when >= 0
    private Int128 _skipRemaining; // Skip when > 0

    public long? ExpectedFrameLength => _frameLength >= 0 ? _frameLength : null;

    /// <summary>Reads the header at the start of <paramref name="span"/>.</summary>
    /// <param name="span">The buffered bytes.</param>
    /// <param name="frameLength">The whole frame's length on the wire, header included.</param>
    /// <param name="payloadStart">Where the emitted frame starts.</param>
    /// <param name="tooLong">When the frame is longer than allowed, what the <see cref="LimitOverrunException"/> says; else null.</param>
    /// <returns><see langword="false"/> when the header is not complete yet.</returns>
    /// <exception cref="InvalidDataException">The header is malformed.</exception>
    protected abstract bool TryReadHeader(ReadOnlySpan<byte> span, out Int128 frameLength, out int payloadStart, out string? tooLong);

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (_skipRemaining > 0)
        {
            return TrySkip(buffer.Length, out frame, out consumed);
        }

        if (_frameLength < 0)
        {
            if (!TryReadHeader(buffer.Span, out Int128 frameLength, out int payloadStart, out string? tooLong))
            {
                frame = default;
                consumed = 0;
                return false;
            }

            if (tooLong is not null)
            {
                return Overrun(frameLength, tooLong, buffer.Length, out frame, out consumed);
            }

            _payloadStart = payloadStart;
            _frameLength = (int)frameLength;
        }

        if (buffer.Length < _frameLength)
        {
            frame = default;
            consumed = 0;
            return false;
        }

        frame = buffer[_payloadStart.._frameLength];
        consumed = _frameLength;
        _frameLength = -1;
        return true;
    }

    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        frame = default;
        consumed = 0;
        if (_skipRemaining > 0)
        {
            // The input ended inside a frame being skipped: it was dropped already, so this is a clean end.
            _skipRemaining = 0;
            return false;
        }

        if (buffer.IsEmpty)
        {
            return false;
        }

        long? expected = ExpectedFrameLength;
        _frameLength = -1;
        throw new IncompleteReadException(buffer, expected);
    }

    /// <summary>A frame longer than allowed: fails, or starts skipping it. Out of line: it is never on the per-frame path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Overrun(Int128 frameLength, string tooLong, int available, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        Internal.Metrics.LimitOverrun();
        if (overflow == OverflowPolicy.Fail)
        {
            throw new LimitOverrunException(tooLong, (long)Int128.Min(frameLength, long.MaxValue));
        }

        _skipRemaining = frameLength;
        return TrySkip(available, out frame, out consumed);
    }

    private bool TrySkip(int available, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (available == 0)
        {
            frame = default;
            consumed = 0;
            return false;
        }

        int count = (int)Int128.Min(_skipRemaining, available);
        _skipRemaining -= count;
        return SkippedFrames.Skip(count, out frame, out consumed);
    }
}
