using RxStreams.Internal;

namespace RxStreams.Framing;

/// <summary>
/// The framing operators for pull code: the same names, options, frames and errors as <see cref="FramingExtensions"/>,
/// over any <see cref="IAsyncEnumerable{T}"/> of byte chunks (a connection's <see cref="ConnectionReader.ReadChunksAsync"/>,
/// a file, a <c>Pipe</c>, a <c>Channel</c>).
/// </summary>
/// <remarks>
/// <para>
/// Both families run the one internal frame driver, so the same bytes, however they are split, give the same frames and
/// the same errors push or pull (docs/contract.md, guarantee 2 "Chunk-invariance"); the tests run the same random cases
/// through both. Ownership is as for the push operators: every frame belongs to the consumer.
/// </para>
/// <para>
/// Pull backpressure is kept: the source is asked for its next chunk only when the consumer asks for a frame that is not
/// buffered yet. Over <c>reader.ReadChunksAsync()</c> the operators decode in the reader's own buffer without copying
/// and keep the connection's frame timeout. Cancelling the enumeration's token cancels the pending read (a cancelled
/// read of a connection consumes nothing).
/// </para>
/// <para>
/// A source's exception ends the frames as a reader's error does: thrown as is when no frame was cut, else as
/// <see cref="IncompleteReadException"/> holding the unfinished frame's bytes, with the source's exception inside.
/// </para>
/// </remarks>
public static partial class AsyncFramingExtensions
{
    /// <inheritdoc cref="FramingExtensions.Lines"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> Lines(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, int limit = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.Lines(limit, overflow));
    }

    /// <inheritdoc cref="FramingExtensions.Until(IObservable{ReadOnlyMemory{byte}}, ReadOnlyMemory{byte}, int, OverflowPolicy)"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> Until(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, ReadOnlyMemory<byte> separator, int limit = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.Until(separator, limit, overflow));
    }

    /// <inheritdoc cref="FramingExtensions.Until(IObservable{ReadOnlyMemory{byte}}, IEnumerable{ReadOnlyMemory{byte}}, int, OverflowPolicy)"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> Until(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, IEnumerable<ReadOnlyMemory<byte>> separators, int limit = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.Until(separators, limit, overflow));
    }

    /// <inheritdoc cref="FramingExtensions.Exactly"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> Exactly(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, int length)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.Exactly(length));
    }

    /// <inheritdoc cref="FramingExtensions.Chunks"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.Chunks(maxLength));
    }

    /// <inheritdoc cref="FramingExtensions.ToEnd"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> ToEnd(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, int limit = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.ToEnd(limit));
    }

    /// <summary>
    /// Decodes the bytes with a decoder of your own (a protocol parser), or one of <see cref="FrameDecoders"/>, under
    /// the same chunk-invariance and ownership rules as <see cref="FramingExtensions.Decode{TFrame}"/>.
    /// </summary>
    /// <typeparam name="TFrame">What a frame decodes to.</typeparam>
    /// <param name="source">The byte chunks.</param>
    /// <param name="decoderFactory">Creates one decoder per enumeration (decoders keep per-stream state).</param>
    /// <returns>The decoded frames.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IAsyncEnumerable<TFrame> Decode<TFrame>(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, Func<IFrameDecoder<TFrame>> decoderFactory)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(decoderFactory);
        return new AsyncFramingOperator<TFrame>(source, () => BuiltInFrameDecoder<TFrame>.Unwrap(decoderFactory()), emitsOwnedMemory: false);
    }

    /// <summary>A byte framer over one of our decoders, whose frames are slices of the input and nothing else.</summary>
    private static AsyncFramingOperator<ReadOnlyMemory<byte>> Framed(IAsyncEnumerable<ReadOnlyMemory<byte>> source, Func<FrameDecoder<ReadOnlyMemory<byte>>> decoderFactory) =>
        new(source, decoderFactory, emitsOwnedMemory: true);
}
