using RxStreams.Framing;

namespace RxStreams.Internal;

/// <summary>A public <see cref="IFrameDecoder{TFrame}"/> (a user's protocol parser) run by <see cref="FrameDriver{TFrame}"/>.</summary>
/// <remarks>
/// The public contract has no way to skip, so only <see cref="DecodeStatus.Frame"/>, <see cref="DecodeStatus.NeedMoreData"/>
/// and <see cref="DecodeStatus.End"/> come out; <c>TryDecodeAtEnd</c> returning false is a clean end even with bytes left,
/// and any exception it throws (its own <see cref="IncompleteReadException"/> included) goes through unchanged.
/// </remarks>
internal sealed class UserFrameDecoder<TFrame>(IFrameDecoder<TFrame> decoder) : FrameDecoder<TFrame>
{
    public override string Name => decoder.GetType().Name;

    public override bool DecodesAhead => false;

    public override DecodeStatus Decode(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed) =>
        decoder.TryDecode(buffer, out frame, out consumed) ? DecodeStatus.Frame : DecodeStatus.NeedMoreData;

    public override DecodeStatus DecodeAtEnd(ReadOnlyMemory<byte> buffer, out TFrame frame, out int consumed) =>
        decoder.TryDecodeAtEnd(buffer, out frame, out consumed) ? DecodeStatus.Frame : DecodeStatus.End;
}
