using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using RxStreams.Framing;
using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>
/// Length-prefixed frames laid out as Netty's <c>LengthFieldBasedFrameDecoder</c> describes them (see
/// <see cref="LengthFieldOptions"/>); frames are slices of the buffer, without a copy.
/// </summary>
/// <remarks>
/// Header: the length field at <c>offset</c>, <c>size</c> bytes, plus <c>adjustment</c>, gives the body; the whole frame
/// is <c>offset + size + body</c>; a negative body or a strip longer than the frame is <see cref="InvalidDataException"/>.
/// The rest of the state machine is <see cref="LengthDelimitedDecoder"/>'s.
/// </remarks>
internal sealed class LengthFieldDecoder : LengthDelimitedDecoder
{
    private readonly int _offset;
    private readonly int _size;
    private readonly int _headerLength;
    private readonly int _adjustment;
    private readonly int _strip;
    private readonly int _maxFrameLength;
    private readonly bool _bigEndian;

    /// <summary>Snapshots <paramref name="options"/> (validated by the caller).</summary>
    public LengthFieldDecoder(LengthFieldOptions options, OverflowPolicy overflow)
        : base(overflow)
    {
        Debug.Assert((long)options.LengthFieldOffset + options.LengthFieldSize <= options.MaxFrameLength);
        _offset = options.LengthFieldOffset;
        _size = options.LengthFieldSize;
        _headerLength = options.HeaderLength;
        _adjustment = options.LengthAdjustment;
        _strip = options.InitialBytesToStrip;
        _maxFrameLength = options.MaxFrameLength;
        _bigEndian = options.BigEndian;
    }

    protected override bool TryReadHeader(ReadOnlySpan<byte> span, out Int128 frameLength, out int payloadStart, out string? tooLong)
    {
        payloadStart = _strip;
        tooLong = null;
        if (span.Length < _headerLength)
        {
            frameLength = 0;
            return false;
        }

        if (_size > sizeof(uint))
        {
            frameLength = ReadWideFrameLength(span);
            if (frameLength > _maxFrameLength || frameLength > Array.MaxLength)
            {
                tooLong = TooLong(frameLength);
            }
            else if (_strip > frameLength)
            {
                throw TooShortToStrip(frameLength);
            }

            return true;
        }

        // The per-frame path (the default 4-byte field and nearly every protocol): a field of up to 32 bits plus an int
        // adjustment and an int header length cannot overflow 64 bits, so it needs none of Int128's two-word arithmetic,
        // and the usual 4-byte field is read inline instead of through ReadUnsigned's switch. Same results as the wide path.
        ReadOnlySpan<byte> field = span.Slice(_offset, _size);
        ulong value = _size == sizeof(uint)
            ? (_bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(field) : BinaryPrimitives.ReadUInt32LittleEndian(field))
            : ReadUnsigned(field, _bigEndian);
        long body = (long)value + _adjustment;
        if (body < 0)
        {
            throw NegativeBody(value, body);
        }

        long length = body + _headerLength;
        frameLength = length;
        if (length > _maxFrameLength || length > Array.MaxLength)
        {
            tooLong = TooLong(length);
        }
        else if (_strip > length)
        {
            throw TooShortToStrip(length);
        }

        return true;
    }

    /// <summary>
    /// The run of plain frames for a 4-byte length field (nearly every protocol; other sizes take the base class's run):
    /// every check that could throw is a compare instead, so the loop needs no exception handler, and the byte order is a
    /// type argument, so the loop holds few enough values to keep them in registers. It stops before anything that is not
    /// a plain frame (a header or body not fully buffered, a negative body, a frame over the limit or shorter than the
    /// bytes to strip), and <see cref="TryReadHeader"/> on the general path reports it as it always does.
    /// </summary>
    public override int DecodeRun(ReadOnlySpan<byte> buffer, int bufferStart, Span<FrameSlice> frames, Span<int> bytesLeftAfter)
    {
        if (_size != sizeof(uint) || !IsBetweenFrames)
        {
            return base.DecodeRun(buffer, bufferStart, frames, bytesLeftAfter);
        }

        var run = new RunShape(
            FieldOffset: _offset,
            HeaderLength: _headerLength,
            LengthAdjustment: (long)_adjustment + _headerLength,
            LongestFrame: Math.Min(_maxFrameLength, Array.MaxLength),
            Strip: _strip);
        return _bigEndian
            ? RunOf4ByteFields<BigEndian>(buffer, bufferStart, frames, bytesLeftAfter, run)
            : RunOf4ByteFields<LittleEndian>(buffer, bufferStart, frames, bytesLeftAfter, run);
    }

    private static int RunOf4ByteFields<TByteOrder>(ReadOnlySpan<byte> span, int bufferStart, Span<FrameSlice> frames, Span<int> bytesLeftAfter, RunShape run)
        where TByteOrder : struct, IByteOrder
    {
        int start = 0;
        int count = 0;
        int capacity = Math.Min(frames.Length, bytesLeftAfter.Length);
        while (count < capacity)
        {
            int available = span.Length - start;
            if (available < run.HeaderLength)
            {
                break;
            }

            long length = TByteOrder.ReadUInt32(span.Slice(start + run.FieldOffset, sizeof(uint))) + run.LengthAdjustment;

            // One unsigned compare: a negative body (shorter than the header), a frame over the limit, and one not all
            // buffered all stop the run; so does one shorter than the bytes to strip.
            if ((ulong)(length - run.HeaderLength) > (ulong)(Math.Min(run.LongestFrame, available) - run.HeaderLength)
                || run.Strip > length)
            {
                break;
            }

            frames[count] = new FrameSlice(bufferStart + start + run.Strip, (int)length - run.Strip);
            start += (int)length;
            bytesLeftAfter[count++] = span.Length - start;
        }

        return count;
    }

    /// <summary>The options a run reads, in one value. <c>LengthAdjustment</c> is what the field's value is added to for the whole frame's length: the adjustment and the header.</summary>
    private readonly record struct RunShape(int FieldOffset, int HeaderLength, long LengthAdjustment, int LongestFrame, int Strip);

    /// <summary>A 4-byte length field's byte order, as a type argument: one specialized loop per order.</summary>
    private interface IByteOrder
    {
        static abstract uint ReadUInt32(ReadOnlySpan<byte> field);
    }

    private readonly struct BigEndian : IByteOrder
    {
        public static uint ReadUInt32(ReadOnlySpan<byte> field) => BinaryPrimitives.ReadUInt32BigEndian(field);
    }

    private readonly struct LittleEndian : IByteOrder
    {
        public static uint ReadUInt32(ReadOnlySpan<byte> field) => BinaryPrimitives.ReadUInt32LittleEndian(field);
    }

    /// <summary>The whole frame's length announced by a length field of 5 to 8 bytes at the start of <paramref name="span"/>.</summary>
    private Int128 ReadWideFrameLength(ReadOnlySpan<byte> span)
    {
        ulong value = ReadUnsigned(span.Slice(_offset, _size), _bigEndian);
        Int128 body = (Int128)value + _adjustment;
        if (body < 0)
        {
            throw NegativeBody(value, body);
        }

        return body + _headerLength;
    }

    // The message builders below stay out of line (NoInlining): inlined, their string formatting (Int128's included)
    // filled the framing loop's inlining budget when the JIT had a poor profile, and left the per-frame calls un-inlined.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private string TooLong(Int128 frameLength) =>
        $"The frame is {frameLength} bytes long (header included), more than the maximum of {_maxFrameLength}.";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private InvalidDataException TooShortToStrip(Int128 frameLength) =>
        new($"The frame is {frameLength} bytes long, shorter than the {_strip} bytes to strip from it.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private InvalidDataException NegativeBody(ulong value, Int128 body) =>
        new($"The length field says {value}; with the adjustment {_adjustment} the body length is negative ({body}).");

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
}
