using RxStreams.Framing;

namespace RxStreams.Decoders;

/// <summary>Everything up to the end of the stream as one frame (asyncio's <c>read(-1)</c>), refusing more than <c>limit</c> bytes.</summary>
internal sealed class ToEndDecoder(int limit) : IFrameDecoder<ReadOnlyMemory<byte>>
{
    private bool _emitted;

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (buffer.Length > limit)
        {
            Internal.Metrics.LimitOverrun();
            throw new LimitOverrunException("The stream is longer than the limit", limit);
        }

        frame = default;
        consumed = 0;
        return false;
    }

    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        // Exactly one frame, empty when the stream was: read(-1) at EOF returns b''.
        frame = buffer;
        consumed = buffer.Length;
        if (_emitted)
        {
            return false;
        }

        _emitted = true;
        return true;
    }
}
