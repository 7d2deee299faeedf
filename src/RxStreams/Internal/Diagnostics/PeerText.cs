using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;

namespace RxStreams.Internal;

/// <summary>
/// Makes text that a peer controls safe to put in a log line or on a terminal: a PROXY header's addresses, a Unix socket
/// path, TLS names, bytes quoted in an error message. A forged path with a newline must not forge a second log line, and
/// an escape sequence must not reach a terminal.
/// </summary>
/// <remarks>
/// Printable ASCII stays as it is, except <c>\</c> and <c>"</c>, which get a backslash (so an escaped string can always be
/// read back unambiguously). Control characters (C0, DEL, C1) become <c>\xNN</c>; other characters that do not print
/// (format characters such as bidirectional overrides, line and paragraph separators, lone surrogates, unassigned or
/// private-use code points) become <c>\u{XXXX}</c>; bytes that are not UTF-8 become <c>\xNN</c>. Printable non-ASCII
/// letters are kept. The result is cut at a length bound, with a note saying how much was left out.
/// </remarks>
internal static class PeerText
{
    /// <summary>The default bound on an escaped string: room for two full Unix socket paths, too short to flood a log.</summary>
    public const int DefaultMaxLength = 256;

    /// <summary>Escapes <paramref name="text"/>; <see langword="null"/> becomes an empty string.</summary>
    /// <param name="text">The peer's text.</param>
    /// <param name="maxLength">The most characters of escaped output kept before the note about the rest.</param>
    /// <returns>The escaped text.</returns>
    public static string Escape(string? text, int maxLength = DefaultMaxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        if (text.Length <= maxLength && IsPlain(text))
        {
            return text; // the common case (an IP endpoint, an ordinary host name): no copy
        }

        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 16);
        int at = 0;
        while (at < text.Length)
        {
            if (builder.Length >= maxLength)
            {
                return AppendCut(builder, text.Length - at, "chars");
            }

            if (Rune.DecodeFromUtf16(text.AsSpan(at), out var rune, out int used) != OperationStatus.Done)
            {
                AppendCodePoint(builder, text[at]); // a lone surrogate
                at++;
                continue;
            }

            AppendRune(builder, rune);
            at += used;
        }

        return builder.ToString();
    }

    /// <summary>Escapes bytes that should be UTF-8 (a path, a TLV): valid sequences as text, every other byte as <c>\xNN</c>.</summary>
    /// <param name="bytes">The peer's bytes.</param>
    /// <param name="maxLength">The most characters of escaped output kept before the note about the rest.</param>
    /// <returns>The escaped text.</returns>
    public static string Escape(ReadOnlySpan<byte> bytes, int maxLength = DefaultMaxLength)
    {
        var builder = new StringBuilder(Math.Min(bytes.Length, maxLength) + 16);
        int at = 0;
        while (at < bytes.Length)
        {
            if (builder.Length >= maxLength)
            {
                return AppendCut(builder, bytes.Length - at, "bytes");
            }

            if (Rune.DecodeFromUtf8(bytes[at..], out var rune, out int used) != OperationStatus.Done)
            {
                AppendByte(builder, bytes[at]);
                at++;
                continue;
            }

            AppendRune(builder, rune);
            at += used;
        }

        return builder.ToString();
    }

    /// <summary>
    /// Makes a whole message safe for one line (an exception's message that may quote a peer): only characters that do
    /// not print are escaped; backslashes and quotes stay, since parts already escaped with <see cref="Escape(string?, int)"/>
    /// must not be escaped twice.
    /// </summary>
    /// <param name="text">The message.</param>
    /// <param name="maxLength">The most characters of output kept before the note about the rest.</param>
    /// <returns>The message on one line, without control characters.</returns>
    public static string OneLine(string? text, int maxLength = 4 * DefaultMaxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 16);
        int at = 0;
        while (at < text.Length)
        {
            if (builder.Length >= maxLength)
            {
                return AppendCut(builder, text.Length - at, "chars");
            }

            if (Rune.DecodeFromUtf16(text.AsSpan(at), out var rune, out int used) != OperationStatus.Done)
            {
                AppendCodePoint(builder, text[at]);
                at++;
            }
            else if (rune.Value is '\\' or '"')
            {
                builder.Append((char)rune.Value);
                at += used;
            }
            else
            {
                AppendRune(builder, rune);
                at += used;
            }
        }

        return builder.ToString();
    }

    /// <summary>Escapes an endpoint's text (a Unix socket path is the peer's choice; a PROXY header can name anything).</summary>
    /// <param name="endPoint">The endpoint, or <see langword="null"/>.</param>
    /// <returns>The escaped text; <c>unknown</c> for <see langword="null"/>.</returns>
    public static string Escape(EndPoint? endPoint) => endPoint is null ? "unknown" : Escape(endPoint.ToString());

    private static bool IsPlain(string text)
    {
        foreach (char c in text)
        {
            if (c is < ' ' or > '~' or '\\' or '"')
            {
                return false;
            }
        }

        return true;
    }

    private static void AppendRune(StringBuilder builder, Rune rune)
    {
        if (rune.Value is >= ' ' and <= '~')
        {
            if (rune.Value is '\\' or '"')
            {
                builder.Append('\\');
            }

            builder.Append((char)rune.Value);
        }
        else if (rune.Value < 0xA0)
        {
            AppendByte(builder, (byte)rune.Value); // C0 controls, DEL, C1 controls (0x9B is a terminal's CSI)
        }
        else if (Prints(rune))
        {
            builder.Append(rune.ToString());
        }
        else
        {
            AppendCodePoint(builder, rune.Value);
        }
    }

    /// <summary>Python's <c>str.isprintable()</c> rule, minus ASCII (handled before): letters, marks, numbers, punctuation, symbols.</summary>
    private static bool Prints(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.SpaceSeparator => false,
        _ => true,
    };

    private static void AppendByte(StringBuilder builder, byte value) =>
        builder.Append(CultureInfo.InvariantCulture, $"\\x{value:X2}");

    private static void AppendCodePoint(StringBuilder builder, int value) =>
        builder.Append(CultureInfo.InvariantCulture, $"\\u{{{value:X4}}}");

    private static string AppendCut(StringBuilder builder, int left, string unit) =>
        builder.Append(CultureInfo.InvariantCulture, $"...({left} more {unit})").ToString();
}
