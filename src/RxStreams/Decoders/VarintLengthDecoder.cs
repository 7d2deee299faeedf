using RxStreams.Framing;

namespace RxStreams.Decoders;

/// <summary>
/// Frames prefixed with their length as a protobuf base-128 varint (<c>writeDelimitedTo</c> / <c>parseDelimitedFrom</c>,
/// Netty's <c>ProtobufVarint32FrameDecoder</c>): seven bits per byte, least significant group first, the high bit set on
/// every byte but the last. Frames are the payloads, slices of the buffer.
/// </summary>
/// <remarks>
/// <para>State table:</para>
/// <code>
/// state        | input                                  | action
/// Head         | varint unfinished, fewer than 10 bytes | wait
/// Head         | 10th byte &gt; 1 (an 11th byte, or more | InvalidDataException
///              |   than 64 bits)                        |
/// Head         | varint of h bytes, value v             | v &gt; max -> Fail: LimitOverrunException(consumed = h + v)
///              |                                        |           Skip: go to Skip(h + v)
///              |                                        | else go to Body(h, h + v)
/// Body(h, n)   | n bytes                                | emit buffer[h..n], consume n, go to Head
/// Skip(r)      | k bytes                                | drop min(k, r) as a skipped-frame marker; Head when r reaches 0
/// end of input | Skip / empty / partial frame           | clean end / clean end / IncompleteReadException(partial, n or null)
/// </code>
/// <para>Non-minimal encodings (<c>0x80 0x00</c> for 0) are accepted, as protobuf does.</para>
/// </remarks>
internal sealed class VarintLengthDecoder(int maxFrameLength, OverflowPolicy overflow) : IFrameDecoder<ReadOnlyMemory<byte>>, IExpectsFrameLength
{
    public long? ExpectedFrameLength => _frameLength >= 0 ? _frameLength : null;

    /// <summary>The longest varint: ten groups of seven bits hold 64.</summary>
    internal const int MaxVarintLength = 10;

    private int _headerLength;
    private int _frameLength = -1; // Body when >= 0
    private UInt128 _skipRemaining; // Skip when > 0

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (_skipRemaining > 0)
        {
            return TrySkip(buffer.Length, out frame, out consumed);
        }

        if (_frameLength < 0)
        {
            if (!TryReadVarint(buffer.Span, out ulong value, out int headerLength))
            {
                frame = default;
                consumed = 0;
                return false;
            }

            if (value > (ulong)maxFrameLength)
            {
                UInt128 total = (UInt128)value + (uint)headerLength;
                if (overflow == OverflowPolicy.Fail)
                {
                    throw new LimitOverrunException(
                        $"The varint length prefix announces {value} bytes, more than the maximum of {maxFrameLength}.",
                        (long)UInt128.Min(total, long.MaxValue));
                }

                _skipRemaining = total;
                return TrySkip(buffer.Length, out frame, out consumed);
            }

            _headerLength = headerLength;
            _frameLength = headerLength + (int)value;
        }

        if (buffer.Length < _frameLength)
        {
            frame = default;
            consumed = 0;
            return false;
        }

        frame = buffer[_headerLength.._frameLength];
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

        long? expected = _frameLength >= 0 ? _frameLength : null;
        _frameLength = -1;
        throw new IncompleteReadException(buffer, expected);
    }

    /// <summary>Reads the varint at the start of <paramref name="span"/>; <see langword="false"/> when it is not complete yet.</summary>
    /// <exception cref="InvalidDataException">The varint is longer than 10 bytes or its value does not fit in 64 bits.</exception>
    internal static bool TryReadVarint(ReadOnlySpan<byte> span, out ulong value, out int length)
    {
        value = 0;
        int count = Math.Min(span.Length, MaxVarintLength);
        for (int i = 0; i < count; i++)
        {
            byte b = span[i];
            if (i == MaxVarintLength - 1 && b > 1)
            {
                throw new InvalidDataException("Malformed varint length prefix: longer than 10 bytes, or more than 64 bits.");
            }

            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                length = i + 1;
                return true;
            }
        }

        length = 0;
        return false;
    }

    private bool TrySkip(int available, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (available == 0)
        {
            frame = default;
            consumed = 0;
            return false;
        }

        int count = (int)UInt128.Min(_skipRemaining, (uint)available);
        _skipRemaining -= (uint)count;
        return SkippedFrames.Skip(count, out frame, out consumed);
    }
}
