using System.Text;
using RxStreams.Internal;

namespace RxStreams.Framing;

// Text, pull style. The type's docs are in AsyncFramingExtensions.cs.
public static partial class AsyncFramingExtensions
{
    /// <inheritdoc cref="FramingExtensions.DecodeText"/>
    public static IAsyncEnumerable<string> DecodeText(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(encoding);
        return AsyncTextDecoder.DecodeAsync(source, encoding);
    }

    /// <inheritdoc cref="FramingExtensions.LinesText"/>
    public static IAsyncEnumerable<string> LinesText(this IAsyncEnumerable<ReadOnlyMemory<byte>> source, Encoding? encoding = null, int limit = FramingExtensions.DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        var checkedEncoding = FramingExtensions.LineEncoding(encoding);
        return source.Lines(limit, overflow).Select(line => checkedEncoding.GetString(FramingExtensions.WithoutLineEnding(line.Span)));
    }
}
