using System.Globalization;
using System.Net;
using System.Text;

namespace RxStreams.Cli;

/// <summary>Prints values the way the seed's Python programs do (<c>{x!r}</c>), so the CLI's output matches theirs line for line.</summary>
internal static class PythonFormat
{
    /// <summary>
    /// Python's <c>repr(str)</c>: single quotes unless the text holds one and no double quote; what does not print
    /// (<c>str.isprintable()</c>: controls, format characters, separators other than the space, surrogates, private-use
    /// and unassigned code points) as <c>\xhh</c>, <c>\uhhhh</c> or <c>\Uhhhhhhhh</c>. The text may be a peer's (a Unix
    /// socket path from a PROXY header): no control character or escape sequence reaches the terminal.
    /// </summary>
    public static string Repr(string text)
    {
        char quote = text.Contains('\'', StringComparison.Ordinal) && !text.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var builder = new StringBuilder(text.Length + 2).Append(quote);
        for (int at = 0; at < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(at), out var rune, out int used) != System.Buffers.OperationStatus.Done)
            {
                AppendEscaped(builder, text[at]); // a lone surrogate: Python prints '\udc80'
                at++;
                continue;
            }

            at += used;
            switch (rune.Value)
            {
                case '\\': builder.Append(@"\\"); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': builder.Append(@"\r"); break;
                case '\t': builder.Append(@"\t"); break;
                default:
                    if (rune.Value == quote)
                    {
                        builder.Append('\\').Append(quote);
                    }
                    else if (IsPrintable(rune))
                    {
                        builder.Append(rune.ToString());
                    }
                    else
                    {
                        AppendEscaped(builder, rune.Value);
                    }

                    break;
            }
        }

        return builder.Append(quote).ToString();
    }

    private static bool IsPrintable(Rune rune) => rune.Value == ' ' || Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.SpaceSeparator => false,
        _ => true,
    };

    private static void AppendEscaped(StringBuilder builder, int value)
    {
        if (value < 0x100)
        {
            builder.Append(CultureInfo.InvariantCulture, $"\\x{value:x2}");
        }
        else if (value < 0x10000)
        {
            builder.Append(CultureInfo.InvariantCulture, $"\\u{value:x4}");
        }
        else
        {
            builder.Append(CultureInfo.InvariantCulture, $"\\U{value:x8}");
        }
    }

    /// <summary>Python's socket address tuple: <c>('127.0.0.1', 8888)</c> or <c>('::1', 8888, 0, 0)</c>.</summary>
    public static string Address(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ip =>
            string.Create(CultureInfo.InvariantCulture, $"('{ip.Address.ToString().Split('%')[0]}', {ip.Port}, 0, {ip.Address.ScopeId})"),
        IPEndPoint ip => string.Create(CultureInfo.InvariantCulture, $"('{ip.Address}', {ip.Port})"),
        null => "None",
        _ => Repr(endPoint.ToString() ?? string.Empty),
    };

    /// <summary>Python's <c>bytes.decode()</c> (UTF-8, strict).</summary>
    public static string Decode(ReadOnlyMemory<byte> data) => new UTF8Encoding(false, true).GetString(data.Span);
}
