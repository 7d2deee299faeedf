using RxStreams.Framing;

namespace RxStreams.Internal;

/// <summary>
/// One of the library's decoders behind the public <see cref="IFrameDecoder{TFrame}"/> contract (what
/// <see cref="FrameDecoders"/> hands out). <c>ReadFramesAsync</c> and <c>Decode</c> unwrap it and run the inner decoder
/// directly, so it behaves exactly as the operator of the same name, skipping and <c>Expected</c> included.
/// </summary>
/// <remarks>
/// Called through the public contract (a user's decoder that delegates to it), bytes the inner decoder drops
/// (<see cref="OverflowPolicy.Skip"/>) are folded into the next frame's <c>consumed</c>: the public contract has no way
/// to drop bytes without a frame, and between calls that return <see langword="false"/> the buffer keeps its start, so
/// the dropped prefix is remembered as an offset.
/// </remarks>
internal sealed class BuiltInFrameDecoder<TFrame>(FrameDecoder<TFrame> inner) : IFrameDecoder<TFrame>
{
    private int _dropped; // bytes at the start of the buffer the inner decoder dropped, not yet reported as consumed

    public FrameDecoder<TFrame> Inner => inner;

    /// <summary>The decoder to run: the inner one of a built-in decoder, else the user's, adapted.</summary>
    public static FrameDecoder<TFrame> Unwrap(IFrameDecoder<TFrame> decoder) =>
        decoder is BuiltInFrameDecoder<TFrame> builtIn ? builtIn.Inner : new UserFrameDecoder<TFrame>(decoder);

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed)
    {
        while (true)
        {
            var status = inner.Decode(buffer[_dropped..], out frame, out int used);
            switch (status)
            {
                case DecodeStatus.Frame:
                    consumed = _dropped + used;
                    _dropped = 0;
                    return true;
                case DecodeStatus.Skipped or DecodeStatus.Overrun:
                    _dropped += used;
                    continue;
                default:
                    consumed = 0;
                    return false;
            }
        }
    }

    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed)
    {
        while (true)
        {
            var rest = buffer[_dropped..];
            var status = inner.DecodeAtEnd(rest, out frame, out int used);
            switch (status)
            {
                case DecodeStatus.Frame:
                    consumed = _dropped + used;
                    _dropped = 0;
                    return true;
                case DecodeStatus.Skipped or DecodeStatus.Overrun:
                    _dropped += used;
                    continue;
                case DecodeStatus.NeedMoreData when !rest.IsEmpty:
                    throw new IncompleteReadException(rest, inner.ExpectedFrameLength);
                default:
                    consumed = 0;
                    return false;
            }
        }
    }
}
