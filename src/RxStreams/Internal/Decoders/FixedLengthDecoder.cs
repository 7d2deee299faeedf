using RxStreams.Framing;

namespace RxStreams.Decoders;

/// <summary>
/// Frames of exactly <c>length</c> bytes: asyncio's <c>readexactly</c>, and (with <see cref="AllowShortLast"/>) chunks of
/// at most <c>length</c> bytes where only the last may be shorter.
/// </summary>
internal sealed class FixedLengthDecoder(int length, bool allowShortLast) : IFrameDecoder<ReadOnlyMemory<byte>>, IExpectsFrameLength
{
    public long? ExpectedFrameLength => length;

    /// <summary>The frame length.</summary>
    public int Length => length;

    /// <summary>Whether leftover bytes at the end make a last, shorter frame instead of an <see cref="IncompleteReadException"/>.</summary>
    public bool AllowShortLast => allowShortLast;

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (buffer.Length >= length)
        {
            frame = buffer[..length];
            consumed = length;
            return true;
        }

        frame = default;
        consumed = 0;
        return false;
    }

    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (buffer.IsEmpty)
        {
            frame = default;
            consumed = 0;
            return false;
        }

        if (!allowShortLast)
        {
            throw new IncompleteReadException(buffer, length);
        }

        frame = buffer;
        consumed = buffer.Length;
        return true;
    }
}
