using System.Globalization;

namespace RxStreams.Testing;

/// <summary>
/// A session recorded by <c>rxstreams record --listen [HOST:]PORT --to HOST:PORT --out FILE</c> (a recording proxy):
/// every connection's bytes in both directions, with their times. Each <see cref="RecordedConnection"/> becomes a
/// <see cref="Microsoft.Reactive.Testing.TestScheduler"/> timeline
/// (<c>scheduler.CreateConnection(null, recording.Connections[0].ClientSends)</c>) or the source of a marble test
/// (<see cref="RecordedConnection.ToMarbleTest"/>), so a real client's session becomes a regression test.
/// </summary>
/// <remarks>
/// The file is text, one event per line: <c>SECONDS CONNECTION EVENT [ARGUMENT]</c>, where SECONDS counts from the start
/// of the recording and EVENT is <c>open PEER</c>, <c>&gt; data BASE64</c> (client to server), <c>&lt; data BASE64</c>
/// (server to client), <c>&gt; eof</c>/<c>&lt; eof</c> (a FIN), <c>&gt; reset</c>/<c>&lt; reset</c> or
/// <c>unreachable</c> (the proxy could not reach the server); lines starting with <c>#</c> are comments.
/// </remarks>
public sealed class Recording
{
    private Recording(IReadOnlyList<RecordedConnection> connections) => Connections = connections;

    /// <summary>The recorded connections, in the order they were opened.</summary>
    public IReadOnlyList<RecordedConnection> Connections { get; }

    /// <summary>Reads a recording file.</summary>
    /// <param name="path">The file <c>rxstreams record --out</c> wrote.</param>
    /// <returns>The recording.</returns>
    /// <exception cref="FormatException">A line is not an event of the format.</exception>
    public static Recording Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>Parses a recording's text.</summary>
    /// <param name="text">The file's content.</param>
    /// <returns>The recording.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">A line is not an event of the format.</exception>
    public static Recording Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builders = new SortedDictionary<int, RecordedConnection.Builder>();
        int number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split(' ');
            if (parts.Length < 3
                || !decimal.TryParse(parts[0], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                throw new FormatException($"line {number}: expected 'SECONDS CONNECTION EVENT'");
            }

            var time = TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond));
            if (!builders.TryGetValue(id, out var builder))
            {
                builder = new RecordedConnection.Builder(id, time);
                builders.Add(id, builder);
            }

            try
            {
                builder.Add(time, parts.AsSpan(2));
            }
            catch (FormatException error)
            {
                throw new FormatException($"line {number}: {error.Message}", error);
            }
        }

        return new Recording(builders.Values.Select(static b => b.Build()).ToArray());
    }
}
