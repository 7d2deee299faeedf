using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>Everything up to the end of the stream as one frame (asyncio's <c>read(-1)</c>), refusing more than <c>limit</c> bytes.</summary>
internal sealed class ToEndDecoder(int limit) : FrameDecoder<ReadOnlyMemory<byte>>
{
    private bool _emitted;

    public override DecodeStatus Decode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        if (buffer.Length > limit)
        {
            throw new LimitOverrunException("The stream is longer than the limit", limit);
        }

        frame = default;
        consumed = 0;
        return DecodeStatus.NeedMoreData;
    }

    public override DecodeStatus DecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        // Exactly one frame, empty when the stream was: read(-1) at EOF returns b''.
        frame = buffer;
        consumed = buffer.Length;
        if (_emitted)
        {
            return DecodeStatus.End;
        }

        _emitted = true;
        return DecodeStatus.Frame;
    }
}
