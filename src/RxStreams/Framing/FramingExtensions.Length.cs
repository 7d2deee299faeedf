using RxStreams.Decoders;

namespace RxStreams.Framing;

public static partial class FramingExtensions
{
    /// <summary>
    /// Splits the bytes into length-prefixed frames, laid out as <paramref name="options"/> says (Netty's
    /// <c>LengthFieldBasedFrameDecoder</c>); by default a 4-byte big-endian payload length, and frames are the payloads.
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="options">Where the length field is, its size and byte order, the adjustment, the bytes to strip and the maximum frame length; <see langword="null"/> for the defaults of <see cref="LengthFieldOptions"/>.</param>
    /// <param name="overflow">What a frame longer than <see cref="LengthFieldOptions.MaxFrameLength"/> does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>The frames, each without its first <see cref="LengthFieldOptions.InitialBytesToStrip"/> bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The length field of <paramref name="options"/> ends beyond its <see cref="LengthFieldOptions.MaxFrameLength"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="overflow"/> is not a defined policy.</exception>
    /// <remarks>
    /// <para>
    /// The maximum is checked as soon as the header has arrived, before any of the body is buffered: a header announcing
    /// 10 GB fails the stream at once with <see cref="LimitOverrunException"/> (<c>Consumed</c> is the announced frame
    /// length), or with <see cref="OverflowPolicy.Skip"/> makes the operator drop exactly that many bytes as they arrive,
    /// without buffering them, and go on with the next frame.
    /// </para>
    /// <para>
    /// A length that is negative after <see cref="LengthFieldOptions.LengthAdjustment"/>, or a frame shorter than the bytes
    /// to strip, fails the stream with <see cref="InvalidDataException"/> (under either policy: the stream has lost sync).
    /// Bytes after the last frame fail it with <see cref="IncompleteReadException"/> whose <c>Expected</c> is the whole
    /// frame's length when its header had arrived, <see langword="null"/> otherwise.
    /// </para>
    /// <para>Frames are slices of the received memory, not copies.</para>
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> LengthPrefixed(this IObservable<ReadOnlyMemory<byte>> source, LengthFieldOptions? options = null, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= LengthFieldOptions.Default;
        options.Validate(nameof(options));
        CheckOverflow(overflow);
        return Framed(source, () => new LengthFieldDecoder(options, overflow));
    }

    /// <summary>
    /// Splits the bytes into frames prefixed with their length as a protobuf base-128 varint (<c>writeDelimitedTo</c>,
    /// Netty's <c>ProtobufVarint32FrameDecoder</c>); frames are the payloads.
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="maxFrameLength">The longest payload accepted, not counting its varint (at most 10 bytes); 64 KiB by default.</param>
    /// <param name="overflow">What a longer payload does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>The payloads.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameLength"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    /// <remarks>
    /// <para>
    /// The maximum is checked as soon as the varint has arrived, before any of the payload is buffered: a longer payload
    /// fails the stream with <see cref="LimitOverrunException"/> (<c>Consumed</c> is the varint's length plus the
    /// payload's), or with <see cref="OverflowPolicy.Skip"/> is dropped, exactly, as it arrives.
    /// </para>
    /// <para>
    /// A varint longer than 10 bytes or wider than 64 bits fails the stream with <see cref="InvalidDataException"/>;
    /// non-minimal encodings are accepted, as protobuf does. Bytes after the last frame fail it with
    /// <see cref="IncompleteReadException"/> whose <c>Expected</c> is the whole frame's length when the varint had
    /// arrived, <see langword="null"/> otherwise.
    /// </para>
    /// <para>Frames are slices of the received memory, not copies.</para>
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> VarintPrefixed(this IObservable<ReadOnlyMemory<byte>> source, int maxFrameLength = DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameLength);
        CheckOverflow(overflow);
        return Framed(source, () => new VarintLengthDecoder(maxFrameLength, overflow));
    }
}
