using System.Globalization;
using System.Text;

namespace RxStreams.Tests.Simulation;

/// <summary>The few RESP2 exchanges the whole-system tests need, in pull style on a connection.</summary>
internal static class RespClient
{
    public static byte[] Command(params string[] arguments)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{arguments.Length}\r\n");
        foreach (var argument in arguments)
        {
            text.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(argument)}\r\n{argument}\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>SET key value; returns the status line (<c>+OK</c>).</summary>
    public static async Task<string> SetAsync(StreamConnection connection, string key, string value, CancellationToken cancellationToken)
    {
        connection.Writer.Write(Command("SET", key, value));
        return await ReadLineAsync(connection, cancellationToken);
    }

    /// <summary>GET key; returns the value, or null for a missing key.</summary>
    public static async Task<string?> GetAsync(StreamConnection connection, string key, CancellationToken cancellationToken)
    {
        connection.Writer.Write(Command("GET", key));
        var header = await ReadLineAsync(connection, cancellationToken);
        if (header == "$-1")
        {
            return null;
        }

        if (!header.StartsWith('$'))
        {
            throw new InvalidDataException("unexpected reply " + header);
        }

        int length = int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture);
        var body = await connection.Reader.ReadExactlyAsync(length + 2, cancellationToken);
        return Encoding.UTF8.GetString(body.Span[..length]);
    }

    private static async Task<string> ReadLineAsync(StreamConnection connection, CancellationToken cancellationToken)
    {
        var line = await connection.Reader.ReadLineAsync(cancellationToken);
        if (line.IsEmpty || line.Span[^1] != (byte)'\n')
        {
            throw new IOException("the server closed the connection");
        }

        return Encoding.UTF8.GetString(line.Span).TrimEnd('\r', '\n');
    }
}
