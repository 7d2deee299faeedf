using System.Runtime.CompilerServices;
using RxStreams.Decoders;
using RxStreams.Internal;

namespace RxStreams.Framing;

/// <summary>
/// Framing operators for any <see cref="IObservable{T}"/> of byte chunks: a connection's reader, a file, a
/// <c>TestScheduler</c> hot observable.
/// </summary>
/// <remarks>
/// <para>
/// Frames depend only on the bytes, never on how they were split into chunks (contract guarantee 2), and the same
/// decoders serve the reader's pull methods, so <c>reader.Lines()</c> and <c>reader.ReadLineAsync()</c> agree on every
/// frame and every error.
/// </para>
/// <para>
/// Every emitted <see cref="ReadOnlyMemory{T}"/> is immutable and belongs to the receiver (guarantee 1). To stay
/// allocation-free per frame, a frame may be a slice of a larger array holding its neighbours; keep
/// <c>frame.ToArray()</c> instead when you hold on to a few small frames for a long time.
/// </para>
/// <para>
/// Errors: input that breaks a limit fails the stream with <see cref="LimitOverrunException"/> (or, for the framers that
/// take an <see cref="OverflowPolicy"/>, is skipped on request); input that ends inside a
/// frame fails it with <see cref="IncompleteReadException"/> (except <see cref="Lines"/> and <see cref="Chunks"/>, whose last
/// frame may be short). Frames completed before an error are always delivered first, and when the input fails inside a
/// frame, the operator fails with <see cref="IncompleteReadException"/> whose <see cref="IncompleteReadException.Partial"/>
/// holds that frame's bytes and whose <see cref="Exception.InnerException"/> is the input's error: no byte is lost.
/// </para>
/// <para>
/// Chunk-invariance covers the frames and the type of every error. <see cref="LimitOverrunException.Consumed"/> and its
/// message follow asyncio exactly, and in asyncio they describe the buffer at the moment the limit is found broken
/// ("is found" / "not found", and how far the search got), which depends on how much had arrived by then.
/// </para>
/// </remarks>
public static partial class FramingExtensions
{
    /// <summary>asyncio's default limit: 64 KiB.</summary>
    public const int DefaultLimit = 64 * 1024;

    /// <summary>
    /// Splits the bytes into <c>\n</c>-terminated lines, each including its <c>\n</c> (asyncio's <c>readline</c>, and
    /// <c>async for line in reader</c>).
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="limit">The longest line accepted, not counting its <c>\n</c>; 64 KiB by default.</param>
    /// <param name="overflow">What a longer line does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>The lines. A last line without <c>\n</c> is emitted before completion.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    /// <remarks>
    /// A longer line fails the stream with <see cref="LimitOverrunException"/> as soon as it is known to be too long; with
    /// <see cref="OverflowPolicy.Skip"/> it is dropped through its <c>\n</c> (or through the end of the input) and the next
    /// line follows.
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> Lines(this IObservable<ReadOnlyMemory<byte>> source, int limit = DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        CheckOverflow(overflow);
        return Framed(source, () => SeparatorDecoder.ForLines(limit, SeparatorDecoder.AtEnd.EmitPartial, SeparatorDecoder.For(overflow)));
    }

    /// <summary>
    /// Splits the bytes after each occurrence of <paramref name="separator"/>, which ends each frame (asyncio's
    /// <c>readuntil</c>).
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="separator">The separator; at least one byte.</param>
    /// <param name="limit">The longest frame accepted, not counting its separator; 64 KiB by default.</param>
    /// <param name="overflow">What a longer frame does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>The frames, each ending with the separator.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="separator"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    /// <remarks>
    /// Bytes after the last separator fail the stream with <see cref="IncompleteReadException"/> (<c>Expected</c> is
    /// <see langword="null"/>); a frame longer than the limit fails it with <see cref="LimitOverrunException"/>, or with
    /// <see cref="OverflowPolicy.Skip"/> is dropped through its separator (or through the end of the input).
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> Until(this IObservable<ReadOnlyMemory<byte>> source, ReadOnlyMemory<byte> separator, int limit = DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        var separators = Separators.Normalize([separator], nameof(separator));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        CheckOverflow(overflow);
        return Framed(source, () => new SeparatorDecoder(separators, limit, SeparatorDecoder.AtEnd.Throw, SeparatorDecoder.For(overflow)));
    }

    /// <summary>
    /// Splits the bytes after whichever of several <paramref name="separators"/> ends first (Python 3.13's
    /// <c>readuntil</c> with a tuple; on a tie the shortest separator wins).
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="separators">One or more separators, each at least one byte.</param>
    /// <param name="limit">The longest frame accepted, not counting its separator; 64 KiB by default.</param>
    /// <param name="overflow">What a longer frame does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>The frames, each ending with the separator that ended it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="separators"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="separators"/> is empty or holds an empty separator.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    public static IObservable<ReadOnlyMemory<byte>> Until(this IObservable<ReadOnlyMemory<byte>> source, IEnumerable<ReadOnlyMemory<byte>> separators, int limit = DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        var normalized = Separators.Normalize(separators, nameof(separators));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        CheckOverflow(overflow);
        return Framed(source, () => new SeparatorDecoder(normalized, limit, SeparatorDecoder.AtEnd.Throw, SeparatorDecoder.For(overflow)));
    }

    /// <summary>Splits the bytes into frames of exactly <paramref name="length"/> bytes (asyncio's <c>readexactly</c>).</summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="length">The frame length; positive.</param>
    /// <returns>The frames.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is not positive.</exception>
    /// <remarks>Leftover bytes at the end fail the stream with <see cref="IncompleteReadException"/> (<c>Expected</c> = <paramref name="length"/>).</remarks>
    public static IObservable<ReadOnlyMemory<byte>> Exactly(this IObservable<ReadOnlyMemory<byte>> source, int length)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return Framed(source, () => new FixedLengthDecoder(length, allowShortLast: false));
    }

    /// <summary>
    /// Re-splits the bytes into chunks of at most <paramref name="maxLength"/> bytes: every chunk is full except possibly
    /// the last, so the result does not depend on how the input arrived.
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="maxLength">The chunk length; positive.</param>
    /// <returns>The chunks.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is not positive.</exception>
    /// <remarks>
    /// The pull method <see cref="ConnectionReader.ReadAsync"/> is asyncio's <c>read(n)</c>, which returns whatever has
    /// arrived (up to n) and so depends on timing; this operator deliberately does not.
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> Chunks(this IObservable<ReadOnlyMemory<byte>> source, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        return Framed(source, () => new FixedLengthDecoder(maxLength, allowShortLast: true));
    }

    /// <summary>Collects every byte up to the end of the input into one frame (asyncio's <c>read()</c> / <c>read(-1)</c>).</summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="limit">The most bytes accepted; unbounded (about 2 GiB) by default, as in asyncio.</param>
    /// <returns>One frame, possibly empty, then completion.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    /// <remarks>Set a <paramref name="limit"/> when the peer is not trusted: more bytes fail the stream with <see cref="LimitOverrunException"/>.</remarks>
    public static IObservable<ReadOnlyMemory<byte>> ToEnd(this IObservable<ReadOnlyMemory<byte>> source, int limit = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return Framed(source, () => new ToEndDecoder(limit));
    }

    /// <summary>Decodes the bytes with a decoder of your own (a protocol parser), under the same chunk-invariance and ownership rules.</summary>
    /// <typeparam name="TFrame">What a frame decodes to.</typeparam>
    /// <param name="source">The byte chunks.</param>
    /// <param name="decoderFactory">Creates one decoder per subscription (decoders keep per-stream state).</param>
    /// <returns>The decoded frames.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IObservable<TFrame> Decode<TFrame>(this IObservable<ReadOnlyMemory<byte>> source, Func<IFrameDecoder<TFrame>> decoderFactory)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(decoderFactory);
        return new FramingOperator<TFrame>(source, () => new UserFrameDecoder<TFrame>(decoderFactory()), emitsOwnedMemory: false);
    }

    /// <summary>A byte framer over one of our decoders, whose frames are slices of the input and nothing else.</summary>
    private static FramingOperator<ReadOnlyMemory<byte>> Framed(IObservable<ReadOnlyMemory<byte>> source, Func<FrameDecoder<ReadOnlyMemory<byte>>> decoderFactory) =>
        new(source, decoderFactory, emitsOwnedMemory: true);

    private static void CheckOverflow(OverflowPolicy overflow, [CallerArgumentExpression(nameof(overflow))] string? paramName = null)
    {
        if (overflow is not (OverflowPolicy.Fail or OverflowPolicy.Skip))
        {
            throw new ArgumentOutOfRangeException(paramName, overflow, "Not a defined OverflowPolicy.");
        }
    }
}
