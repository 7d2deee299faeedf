using System.Text;
using RxStreams.Framing;

namespace RxStreams;

// Text lines, pull style: readline decoded to a string without its line ending. The type's docs are in
// ConnectionReader.cs.
public sealed partial class ConnectionReader
{
    /// <summary>
    /// Reads one line (<see cref="ReadLineAsync"/>) and decodes it without its line ending (<c>\n</c> or <c>\r\n</c>):
    /// the pull counterpart of <see cref="FramingExtensions.LinesText"/>.
    /// </summary>
    /// <param name="encoding">
    /// The encoding; <see langword="null"/> for UTF-8. It must encode <c>\n</c> and <c>\r</c> as the single bytes 0x0A and
    /// 0x0D, because lines are cut in bytes.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait; nothing is consumed then.</param>
    /// <returns>The line; <see langword="null"/> at the end of the input (an empty string is an empty line).</returns>
    /// <exception cref="ArgumentException"><paramref name="encoding"/> does not encode <c>\n</c> and <c>\r</c> as single ASCII bytes.</exception>
    /// <inheritdoc cref="ReadLineAsync" path="/exception"/>
    public async ValueTask<string?> ReadLineTextAsync(Encoding? encoding = null, CancellationToken cancellationToken = default)
    {
        encoding = FramingExtensions.LineEncoding(encoding);
        var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        return line.IsEmpty ? null : encoding.GetString(FramingExtensions.WithoutLineEnding(line.Span));
    }

    /// <summary>
    /// The lines of the input decoded to strings without their line endings, as an <see cref="IAsyncEnumerable{T}"/>:
    /// <see cref="ReadLinesAsync"/> then the decoding of <see cref="FramingExtensions.LinesText"/>.
    /// </summary>
    /// <param name="encoding">The encoding; <see langword="null"/> for UTF-8 (see <see cref="ReadLineTextAsync"/>).</param>
    /// <param name="cancellationToken">Cancels the iteration; a cancelled read consumes nothing.</param>
    /// <returns>The lines; the last one may have had no line ending. Each line is read only when the consumer asks for it.</returns>
    /// <exception cref="ArgumentException"><paramref name="encoding"/> does not encode <c>\n</c> and <c>\r</c> as single ASCII bytes.</exception>
    /// <remarks>Lines longer than <see cref="Limit"/> fail the iteration as <see cref="ReadLineAsync"/> does.</remarks>
    public IAsyncEnumerable<string> ReadLinesTextAsync(Encoding? encoding = null, CancellationToken cancellationToken = default)
    {
        var checkedEncoding = FramingExtensions.LineEncoding(encoding);
        return ReadLinesAsync(cancellationToken).Select(line => checkedEncoding.GetString(FramingExtensions.WithoutLineEnding(line.Span)));
    }
}
