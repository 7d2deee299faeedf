using RxStreams.Internal;

namespace RxStreams.Framing;

// Length-prefixed framing, pull style. The type's docs are in AsyncFramingExtensions.cs.
public static partial class AsyncFramingExtensions
{
    /// <inheritdoc cref="FramingExtensions.LengthPrefixed"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> LengthPrefixed(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, LengthFieldOptions? options = null, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.LengthPrefixed(options, overflow));
    }

    /// <inheritdoc cref="FramingExtensions.VarintPrefixed"/>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> VarintPrefixed(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, int maxFrameLength = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Framed(source, BuiltInDecoders.VarintPrefixed(maxFrameLength, overflow));
    }
}
