using System.Buffers.Binary;
using System.Diagnostics;
using RxStreams.Framing;

namespace RxStreams.Decoders;

/// <summary>
/// Length-prefixed frames laid out as Netty's <c>LengthFieldBasedFrameDecoder</c> describes them (see
/// <see cref="LengthFieldOptions"/>); frames are slices of the buffer, without a copy.
/// </summary>
/// <remarks>
/// <para>State table (the buffer always starts at a frame boundary, or inside a frame being skipped):</para>
/// <code>
/// state                  | input                         | action
/// Head (_frameLength&lt;0) | fewer bytes than the header   | wait
/// Head                   | header complete               | frameLength = offset + size + value + adjustment:
///                        |                               |   body &lt; 0 -> InvalidDataException
///                        |                               |   frameLength &gt; max -> Fail: LimitOverrunException(consumed = frameLength)
///                        |                               |                         Skip: go to Skip(frameLength)
///                        |                               |   strip &gt; frameLength -> InvalidDataException
///                        |                               |   else go to Body(frameLength)
/// Body(n)                | fewer than n bytes            | wait (the body is buffered: n &lt;= max)
/// Body(n)                | n bytes                       | emit buffer[strip..n], consume n, go to Head
/// Skip(r)                | k bytes                       | drop min(k, r) as a skipped-frame marker; Head when r reaches 0
/// end of input           | Skip / empty / partial frame  | clean end / clean end / IncompleteReadException(partial, n or null)
/// </code>
/// <para>Every decision depends only on the header bytes, so errors and frames are chunk-invariant.</para>
/// </remarks>
internal sealed class LengthFieldDecoder : IFrameDecoder<ReadOnlyMemory<byte>>, IExpectsFrameLength
{
    public long? ExpectedFrameLength => _frameLength >= 0 ? _frameLength : null;

    private readonly int _offset;
    private readonly int _size;
    private readonly int _headerLength;
    private readonly int _adjustment;
    private readonly int _strip;
    private readonly int _maxFrameLength;
    private readonly bool _bigEndian;
    private readonly OverflowPolicy _overflow;
    private int _frameLength = -1; // Body(n) when >= 0
    private Int128 _skipRemaining; // Skip(r) when > 0

    /// <summary>Snapshots <paramref name="options"/> (validated by the caller).</summary>
    public LengthFieldDecoder(LengthFieldOptions options, OverflowPolicy overflow)
    {
        Debug.Assert((long)options.LengthFieldOffset + options.LengthFieldSize <= options.MaxFrameLength);
        _offset = options.LengthFieldOffset;
        _size = options.LengthFieldSize;
        _headerLength = options.HeaderLength;
        _adjustment = options.LengthAdjustment;
        _strip = options.InitialBytesToStrip;
        _maxFrameLength = options.MaxFrameLength;
        _bigEndian = options.BigEndian;
        _overflow = overflow;
    }

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (_skipRemaining > 0)
        {
            return TrySkip(buffer.Length, out frame, out consumed);
        }

        if (_frameLength < 0)
        {
            if (buffer.Length < _headerLength)
            {
                frame = default;
                consumed = 0;
                return false;
            }

            Int128 frameLength = ReadFrameLength(buffer.Span);
            if (frameLength > _maxFrameLength)
            {
                if (_overflow == OverflowPolicy.Fail)
                {
                    throw new LimitOverrunException(
                        $"The frame is {frameLength} bytes long (header included), more than the maximum of {_maxFrameLength}.",
                        (long)Int128.Min(frameLength, long.MaxValue));
                }

                _skipRemaining = frameLength;
                return TrySkip(buffer.Length, out frame, out consumed);
            }

            if (_strip > frameLength)
            {
                throw new InvalidDataException($"The frame is {frameLength} bytes long, shorter than the {_strip} bytes to strip from it.");
            }

            _frameLength = (int)frameLength;
        }

        if (buffer.Length < _frameLength)
        {
            frame = default;
            consumed = 0;
            return false;
        }

        frame = buffer[_strip.._frameLength];
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

    /// <summary>The whole frame's length announced by the header at the start of <paramref name="span"/>.</summary>
    private Int128 ReadFrameLength(ReadOnlySpan<byte> span)
    {
        ulong value = ReadUnsigned(span.Slice(_offset, _size), _bigEndian);
        Int128 body = (Int128)value + _adjustment;
        if (body < 0)
        {
            throw new InvalidDataException($"The length field says {value}; with the adjustment {_adjustment} the body length is negative ({body}).");
        }

        return body + _headerLength;
    }

    /// <summary>Reads an unsigned integer of 1 to 8 bytes.</summary>
    internal static ulong ReadUnsigned(ReadOnlySpan<byte> field, bool bigEndian)
    {
        switch (field.Length)
        {
            case 1:
                return field[0];
            case 2:
                return bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(field) : BinaryPrimitives.ReadUInt16LittleEndian(field);
            case 4:
                return bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(field) : BinaryPrimitives.ReadUInt32LittleEndian(field);
            case 8:
                return bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(field) : BinaryPrimitives.ReadUInt64LittleEndian(field);
            default:
                ulong value = 0;
                for (int i = 0; i < field.Length; i++)
                {
                    value = (value << 8) | field[bigEndian ? i : field.Length - 1 - i];
                }

                return value;
        }
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
