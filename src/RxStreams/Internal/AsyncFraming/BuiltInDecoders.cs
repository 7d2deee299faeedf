using System.Runtime.CompilerServices;
using RxStreams.Decoders;
using RxStreams.Framing;

namespace RxStreams.Internal;

/// <summary>
/// The library's byte framers as decoder factories, arguments checked once: what the pull framing operators
/// (<see cref="AsyncFramingExtensions"/>) and the public <see cref="FrameDecoders"/> build on. Each call of a factory
/// makes a fresh decoder (decoders keep per-stream state), configured exactly as the push operator of the same name.
/// </summary>
internal static class BuiltInDecoders
{
    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> Lines(int limit, OverflowPolicy overflow)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        CheckOverflow(overflow);
        return () => SeparatorDecoder.ForLines(limit, SeparatorDecoder.AtEnd.EmitPartial, SeparatorDecoder.For(overflow));
    }

    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> Until(ReadOnlyMemory<byte> separator, int limit, OverflowPolicy overflow)
    {
        var separators = Separators.Normalize([separator], nameof(separator));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        CheckOverflow(overflow);
        return () => new SeparatorDecoder(separators, limit, SeparatorDecoder.AtEnd.Throw, SeparatorDecoder.For(overflow));
    }

    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> Until(IEnumerable<ReadOnlyMemory<byte>> separators, int limit, OverflowPolicy overflow)
    {
        var normalized = Separators.Normalize(separators, nameof(separators));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        CheckOverflow(overflow);
        return () => new SeparatorDecoder(normalized, limit, SeparatorDecoder.AtEnd.Throw, SeparatorDecoder.For(overflow));
    }

    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> Exactly(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return () => new FixedLengthDecoder(length, allowShortLast: false);
    }

    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> Chunks(int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        return () => new FixedLengthDecoder(maxLength, allowShortLast: true);
    }

    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> ToEnd(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return () => new ToEndDecoder(limit);
    }

    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> LengthPrefixed(LengthFieldOptions? options, OverflowPolicy overflow)
    {
        options ??= LengthFieldOptions.Default;
        options.Validate(nameof(options));
        CheckOverflow(overflow);
        return () => new LengthFieldDecoder(options, overflow);
    }

    public static Func<FrameDecoder<ReadOnlyMemory<byte>>> VarintPrefixed(int maxFrameLength, OverflowPolicy overflow)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameLength);
        CheckOverflow(overflow);
        return () => new VarintLengthDecoder(maxFrameLength, overflow);
    }

    private static void CheckOverflow(OverflowPolicy overflow, [CallerArgumentExpression(nameof(overflow))] string? paramName = null)
    {
        if (overflow is not (OverflowPolicy.Fail or OverflowPolicy.Skip))
        {
            throw new ArgumentOutOfRangeException(paramName, overflow, "Not a defined OverflowPolicy.");
        }
    }
}
