using System.Globalization;
using System.Net;
using System.Text;

namespace RxStreams.Cli;

/// <summary>Prints values the way the seed's Python programs do (<c>{x!r}</c>), so the CLI's output matches theirs line for line.</summary>
internal static class PythonFormat
{
    /// <summary>Python's <c>repr(str)</c>: single quotes unless the text holds one and no double quote.</summary>
    public static string Repr(string text)
    {
        char quote = text.Contains('\'', StringComparison.Ordinal) && !text.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var builder = new StringBuilder(text.Length + 2).Append(quote);
        foreach (char c in text)
        {
            switch (c)
            {
                case '\\': builder.Append(@"\\"); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': builder.Append(@"\r"); break;
                case '\t': builder.Append(@"\t"); break;
                default:
                    if (c == quote)
                    {
                        builder.Append('\\').Append(c);
                    }
                    else if (c < 0x20 || c == 0x7f)
                    {
                        builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append(quote).ToString();
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
