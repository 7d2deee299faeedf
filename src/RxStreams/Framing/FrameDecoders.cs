using RxStreams.Internal;

namespace RxStreams.Framing;

/// <summary>
/// The library's built-in decoders, for pull code: <c>reader.ReadFramesAsync(FrameDecoders.LengthPrefixed())</c> reads
/// length-prefixed frames without writing a decoder. Each is configured, validated and behaves exactly as the framing
/// operator of the same name (<see cref="FramingExtensions"/>), limits, <see cref="OverflowPolicy"/> and errors included.
/// </summary>
/// <remarks>
/// A decoder keeps per-stream state: take a fresh one for every stream (every call returns a new one). The same decoders
/// also serve <see cref="FramingExtensions.Decode{TFrame}"/> and <see cref="AsyncFramingExtensions.Decode{TFrame}"/>, and a
/// decoder of your own may delegate to one.
/// </remarks>
public static class FrameDecoders
{
    /// <summary>
    /// <c>\n</c>-terminated lines, each including its <c>\n</c>; a last line without one is a frame
    /// (see <see cref="FramingExtensions.Lines"/>).
    /// </summary>
    /// <param name="limit">The longest line accepted, not counting its <c>\n</c>; 64 KiB by default.</param>
    /// <param name="overflow">What a longer line does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> Lines(int limit = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail) =>
        Wrap(BuiltInDecoders.Lines(limit, overflow));

    /// <summary>Frames ended by <paramref name="separator"/>, included (see <see cref="FramingExtensions.Until(IObservable{ReadOnlyMemory{byte}}, ReadOnlyMemory{byte}, int, OverflowPolicy)"/>).</summary>
    /// <param name="separator">The separator; at least one byte. It is copied.</param>
    /// <param name="limit">The longest frame accepted, not counting its separator; 64 KiB by default.</param>
    /// <param name="overflow">What a longer frame does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentException"><paramref name="separator"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> Until(ReadOnlyMemory<byte> separator, int limit = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail) =>
        Wrap(BuiltInDecoders.Until(separator, limit, overflow));

    /// <summary>Frames ended by whichever of <paramref name="separators"/> ends first (see <see cref="FramingExtensions.Until(IObservable{ReadOnlyMemory{byte}}, IEnumerable{ReadOnlyMemory{byte}}, int, OverflowPolicy)"/>).</summary>
    /// <param name="separators">One or more separators, each at least one byte. They are copied.</param>
    /// <param name="limit">The longest frame accepted, not counting its separator; 64 KiB by default.</param>
    /// <param name="overflow">What a longer frame does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="separators"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="separators"/> is empty or holds an empty separator.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> Until(IEnumerable<ReadOnlyMemory<byte>> separators, int limit = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail) =>
        Wrap(BuiltInDecoders.Until(separators, limit, overflow));

    /// <summary>Frames of exactly <paramref name="length"/> bytes (see <see cref="FramingExtensions.Exactly"/>).</summary>
    /// <param name="length">The frame length; positive.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is not positive.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> Exactly(int length) => Wrap(BuiltInDecoders.Exactly(length));

    /// <summary>Chunks of <paramref name="maxLength"/> bytes, the last possibly shorter (see <see cref="FramingExtensions.Chunks"/>).</summary>
    /// <param name="maxLength">The chunk length; positive.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is not positive.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> Chunks(int maxLength) => Wrap(BuiltInDecoders.Chunks(maxLength));

    /// <summary>Every byte up to the end in one frame (see <see cref="FramingExtensions.ToEnd"/>).</summary>
    /// <param name="limit">The most bytes accepted; unbounded (about 2 GiB) by default.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> ToEnd(int limit = int.MaxValue) => Wrap(BuiltInDecoders.ToEnd(limit));

    /// <summary>Frames behind a length field, Netty-style (see <see cref="FramingExtensions.LengthPrefixed"/>).</summary>
    /// <param name="options">The length field's layout and the frame limit; <see langword="null"/> for <see cref="LengthFieldOptions.Default"/>.</param>
    /// <param name="overflow">What a longer frame does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentException"><paramref name="options"/> is not a valid layout.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="overflow"/> is not a defined policy.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> LengthPrefixed(LengthFieldOptions? options = null, OverflowPolicy overflow = OverflowPolicy.Fail) =>
        Wrap(BuiltInDecoders.LengthPrefixed(options, overflow));

    /// <summary>Frames behind a base-128 varint length, protobuf-style (see <see cref="FramingExtensions.VarintPrefixed"/>).</summary>
    /// <param name="maxFrameLength">The longest payload accepted; 64 KiB by default.</param>
    /// <param name="overflow">What a longer frame does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>A fresh decoder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameLength"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    public static IFrameDecoder<ReadOnlyMemory<byte>> VarintPrefixed(int maxFrameLength = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail) =>
        Wrap(BuiltInDecoders.VarintPrefixed(maxFrameLength, overflow));

    private static BuiltInFrameDecoder<ReadOnlyMemory<byte>> Wrap(Func<FrameDecoder<ReadOnlyMemory<byte>>> factory) => new(factory());
}
