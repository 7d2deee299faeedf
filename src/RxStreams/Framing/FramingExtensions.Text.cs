using System.Reactive.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using RxStreams.Decoders;

namespace RxStreams.Framing;

public static partial class FramingExtensions
{
    /// <summary>
    /// Decodes the bytes to text with <paramref name="encoding"/>, correctly when a multi-byte character is split across
    /// chunks (the bytes of an unfinished character wait for the next chunk).
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="encoding">The encoding, for example <see cref="Encoding.UTF8"/>.</param>
    /// <returns>
    /// The text, one string per chunk that completes at least one character: joined, the strings do not depend on how the
    /// bytes were split, but each string does. Frame the bytes first (<see cref="LinesText"/>, <see cref="Lines"/>) when
    /// the pieces matter.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="encoding"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// <para>
    /// Invalid bytes follow the encoding's <see cref="Encoding.DecoderFallback"/>: <see cref="Encoding.UTF8"/> replaces
    /// them with U+FFFD; an encoding built to throw (<c>new UTF8Encoding(false, throwOnInvalidBytes: true)</c>) fails the
    /// stream with its <see cref="DecoderFallbackException"/>, and the text of that chunk is not emitted. An unfinished
    /// character at the end of the input goes to the fallback too; at an error of the input it is dropped.
    /// </para>
    /// <para>A byte-order mark is not detected or removed: it decodes to U+FEFF like any other character.</para>
    /// </remarks>
    public static IObservable<string> DecodeText(this IObservable<ReadOnlyMemory<byte>> source, Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(encoding);
        return new TextDecodeOperator(source, encoding);
    }

    /// <summary>
    /// Encodes the strings to bytes with <paramref name="encoding"/>, one chunk per non-empty string; a surrogate pair
    /// split across two strings is encoded as one character.
    /// </summary>
    /// <param name="source">The strings.</param>
    /// <param name="encoding">The encoding, for example <see cref="Encoding.UTF8"/>.</param>
    /// <returns>The encoded chunks, each in a fresh array owned by the receiver; no byte-order mark is written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="encoding"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Characters the encoding cannot represent follow its <see cref="Encoding.EncoderFallback"/> (for example <c>?</c>
    /// in ASCII); a throwing fallback fails the stream with its <see cref="EncoderFallbackException"/>. A high surrogate
    /// left at the end of the input goes to the fallback at completion.
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> EncodeText(this IObservable<string> source, Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(encoding);
        return new TextEncodeOperator(source, encoding);
    }

    /// <summary>
    /// Splits the bytes into lines (<see cref="Lines"/>) and decodes each line to a string without its line ending
    /// (<c>\n</c> or <c>\r\n</c>).
    /// </summary>
    /// <param name="source">The byte chunks.</param>
    /// <param name="encoding">
    /// The encoding; <see langword="null"/> for UTF-8. It must encode <c>\n</c> and <c>\r</c> as the single bytes 0x0A
    /// and 0x0D (UTF-8, ASCII, Latin-1, the Windows code pages, GB18030, Shift-JIS...), because lines are cut in bytes.
    /// </param>
    /// <param name="limit">The longest line accepted in bytes, not counting its <c>\n</c>; 64 KiB by default.</param>
    /// <param name="overflow">What a longer line does: <see cref="OverflowPolicy.Fail"/> (the default) or <see cref="OverflowPolicy.Skip"/>.</param>
    /// <returns>The lines. A last line without <c>\n</c> is emitted before completion (without a trailing <c>\r</c>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="encoding"/> does not encode <c>\n</c> and <c>\r</c> as single ASCII bytes (UTF-16 and UTF-32 do not).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive, or <paramref name="overflow"/> is not a defined policy.</exception>
    /// <remarks>
    /// Each line is decoded on its own, so invalid bytes and a character cut by the end of the input follow the
    /// encoding's fallback; limits and overflow work as in <see cref="Lines"/>.
    /// </remarks>
    public static IObservable<string> LinesText(this IObservable<ReadOnlyMemory<byte>> source, Encoding? encoding = null, int limit = DefaultLimit, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        ArgumentNullException.ThrowIfNull(source);
        encoding = LineEncoding(encoding);
        return source.Lines(limit, overflow).Select(line => encoding.GetString(WithoutLineEnding(line.Span)));
    }

    /// <summary>The encoding for text lines (UTF-8 when null), checked to encode <c>\r\n</c> as the bytes 0x0D 0x0A.</summary>
    internal static Encoding LineEncoding(Encoding? encoding, [CallerArgumentExpression(nameof(encoding))] string? paramName = null)
    {
        encoding ??= Encoding.UTF8;
        if (!EncodesAsciiLineEndings(encoding))
        {
            throw new ArgumentException($"The encoding {encoding.WebName} does not encode '\\n' and '\\r' as the single bytes 0x0A and 0x0D, so lines cannot be cut in bytes; use DecodeText and split the text instead.", paramName);
        }

        return encoding;
    }

    private static bool EncodesAsciiLineEndings(Encoding encoding)
    {
        Span<byte> bytes = stackalloc byte[encoding.GetMaxByteCount(2)];
        int count = encoding.GetBytes("\r\n", bytes);
        return count == 2 && bytes[0] == (byte)'\r' && bytes[1] == (byte)'\n';
    }

    /// <summary>The line without its <c>\n</c> or <c>\r\n</c>.</summary>
    internal static ReadOnlySpan<byte> WithoutLineEnding(ReadOnlySpan<byte> line)
    {
        if (line.EndsWith((byte)'\n'))
        {
            line = line[..^1];
        }

        return line.EndsWith((byte)'\r') ? line[..^1] : line;
    }
}
