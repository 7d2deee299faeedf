using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>
/// Frames of exactly <c>length</c> bytes: asyncio's <c>readexactly</c>, and (with <see cref="AllowShortLast"/>) chunks of
/// at most <c>length</c> bytes where only the last may be shorter.
/// </summary>
internal sealed class FixedLengthDecoder(int length, bool allowShortLast) : FrameDecoder<ReadOnlyMemory<byte>>
{
    public override long? ExpectedFrameLength => length;

    /// <summary>The frame length.</summary>
    public int Length => length;

    /// <summary>Whether leftover bytes at the end make a last, shorter frame instead of an <see cref="IncompleteReadException"/>.</summary>
    public bool AllowShortLast => allowShortLast;

    public override DecodeStatus Decode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (buffer.Length >= length)
        {
            frame = buffer[..length];
            consumed = length;
            return DecodeStatus.Frame;
        }

        frame = default;
        consumed = 0;
        return DecodeStatus.NeedMoreData;
    }

    /// <summary>Every whole frame buffered, sliced in one loop: the run that pull framing decodes ahead.</summary>
    public override int DecodeRun(ReadOnlySpan<byte> buffer, int bufferStart, Span<FrameSlice> frames, Span<int> bytesLeftAfter)
    {
        if (length <= 0)
        {
            return 0; // Decode's path reports it
        }

        int count = Math.Min(frames.Length, buffer.Length / length);
        for (int i = 0; i < count; i++)
        {
            frames[i] = new FrameSlice(bufferStart + i * length, length);
            bytesLeftAfter[i] = buffer.Length - (i + 1) * length;
        }

        return count;
    }

    public override DecodeStatus DecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (buffer.IsEmpty || !allowShortLast)
        {
            // Nothing left is a clean end; leftover bytes are a frame cut short (IncompleteReadException, Expected = length).
            frame = default;
            consumed = 0;
            return DecodeStatus.NeedMoreData;
        }

        frame = buffer;
        consumed = buffer.Length;
        return DecodeStatus.Frame;
    }
}
