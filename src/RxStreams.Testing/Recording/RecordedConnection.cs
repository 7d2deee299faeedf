using System.Globalization;
using System.Net.Sockets;
using System.Reactive;
using System.Text;
using Microsoft.Reactive.Testing;

namespace RxStreams.Testing;

/// <summary>
/// One connection of a <see cref="Recording"/>: what the client sent and what the server answered, each as a timeline in
/// <see cref="TestScheduler"/> ticks (100 ns) counted from the moment the connection was opened.
/// </summary>
public sealed class RecordedConnection
{
    private RecordedConnection(int id, string peer, TimeSpan openedAt, Recorded<Notification<byte[]>>[] clientSends, Recorded<Notification<byte[]>>[] serverSends)
    {
        Id = id;
        Peer = peer;
        OpenedAt = openedAt;
        ClientSends = clientSends;
        ServerSends = serverSends;
    }

    /// <summary>The connection's number in the recording (1, 2, ...).</summary>
    public int Id { get; }

    /// <summary>The client's address, as the proxy saw it.</summary>
    public string Peer { get; }

    /// <summary>When it was opened, from the start of the recording.</summary>
    public TimeSpan OpenedAt { get; }

    /// <summary>
    /// What the client sent (<c>OnNext</c> per chunk the proxy received), then its FIN (<c>OnCompleted</c>) or reset
    /// (<c>OnError</c>), at ticks from the opening: the input of <c>scheduler.CreateConnection(null, ClientSends)</c>, to
    /// replay the session against a server handler.
    /// </summary>
    public Recorded<Notification<byte[]>>[] ClientSends { get; }

    /// <summary>What the server answered, then its end, at ticks from the opening: the expected output of the replay.</summary>
    public Recorded<Notification<byte[]>>[] ServerSends { get; }

    /// <summary>Every byte the server sent, as UTF-8 text (what a replayed handler should write).</summary>
    public string ServerText => Text(ServerSends);

    /// <summary>Every byte the client sent, as UTF-8 text.</summary>
    public string ClientText => Text(ClientSends);

    /// <summary>
    /// The source of an NUnit marble test that replays the client's side of this connection against a handler and checks
    /// that the handler answers what the recorded server answered. Paste it into a test class deriving from
    /// <see cref="ReactiveTest"/> and fill in the handler.
    /// </summary>
    /// <param name="methodName">The test method's name.</param>
    /// <param name="startHandler">The statement that starts the handler on <c>connection</c> (a <see cref="TestConnection"/>).</param>
    /// <returns>C# source.</returns>
    public string ToMarbleTest(string methodName = "RecordedSession_GetsTheRecordedAnswers", string startHandler = "_ = connection.Start(Handler);")
    {
        ArgumentNullException.ThrowIfNull(methodName);
        ArgumentNullException.ThrowIfNull(startHandler);
        var code = new StringBuilder();
        code.AppendLine("[Test]");
        code.AppendLine(CultureInfo.InvariantCulture, $"public void {methodName}()");
        code.AppendLine("{");
        code.AppendLine(CultureInfo.InvariantCulture, $"    // Recorded by `rxstreams record`: connection {Id} from {Peer}; the client's bytes at their recorded ticks.");
        code.AppendLine("    var scheduler = new TestScheduler();");
        code.AppendLine("    var connection = scheduler.CreateConnection(");
        code.AppendLine("        (ConnectionOptions?)null,");
        for (int i = 0; i < ClientSends.Length; i++)
        {
            var record = ClientSends[i];
            string value = record.Value.Kind switch
            {
                NotificationKind.OnNext => $"Notification.CreateOnNext({BytesLiteral(record.Value.Value)})",
                NotificationKind.OnCompleted => "Notification.CreateOnCompleted<byte[]>()",
                _ => "Notification.CreateOnError<byte[]>(new IOException(\"reset\", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset)))",
            };
            code.Append(CultureInfo.InvariantCulture, $"        new Recorded<Notification<byte[]>>({record.Time}L, {value})");
            code.AppendLine(i + 1 < ClientSends.Length ? "," : ");");
        }

        if (ClientSends.Length == 0)
        {
            code.AppendLine("        Array.Empty<Recorded<Notification<byte[]>>>());");
        }

        code.AppendLine(CultureInfo.InvariantCulture, $"    {startHandler}");
        code.AppendLine("    scheduler.Start();");
        code.AppendLine("    var answered = string.Concat(connection.Written.Where(r => r.Value.Kind == NotificationKind.OnNext).Select(r => r.Value.Value));");
        code.AppendLine(CultureInfo.InvariantCulture, $"    Assert.That(answered, Is.EqualTo({StringLiteral(ServerText)}));");
        code.AppendLine("}");
        return code.ToString();
    }

    private static string Text(Recorded<Notification<byte[]>>[] sends) =>
        Encoding.UTF8.GetString(sends.Where(static r => r.Value.Kind == NotificationKind.OnNext).SelectMany(static r => r.Value.Value).ToArray());

    private static string BytesLiteral(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        return Encoding.UTF8.GetBytes(text).AsSpan().SequenceEqual(bytes)
            ? $"System.Text.Encoding.UTF8.GetBytes({StringLiteral(text)})"
            : $"Convert.FromBase64String(\"{Convert.ToBase64String(bytes)}\")";
    }

    private static string StringLiteral(string text)
    {
        var literal = new StringBuilder("\"");
        foreach (char c in text)
        {
            literal.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                '\\' => "\\\\",
                '"' => "\\\"",
                < ' ' or (>= '\x7f' and <= '\x9f') => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }

        return literal.Append('"').ToString();
    }

    /// <summary>Collects one connection's events while a recording is parsed.</summary>
    internal sealed class Builder(int id, TimeSpan openedAt)
    {
        private readonly List<Recorded<Notification<byte[]>>> _client = [];
        private readonly List<Recorded<Notification<byte[]>>> _server = [];
        private string _peer = "?";

        public void Add(TimeSpan time, ReadOnlySpan<string> parts)
        {
            long tick = Math.Max(1, (time - openedAt).Ticks); // tick 0 would run before the handler starts
            switch (parts[0])
            {
                case "open":
                    _peer = parts.Length > 1 ? parts[1] : "?";
                    return;
                case "unreachable":
                    return;
                case ">" or "<" when parts.Length >= 2:
                    var target = parts[0] == ">" ? _client : _server;
                    var notification = parts[1] switch
                    {
                        "data" when parts.Length == 3 => Notification.CreateOnNext(Decode(parts[2])),
                        "eof" => Notification.CreateOnCompleted<byte[]>(),
                        "reset" => Notification.CreateOnError<byte[]>(new IOException("The peer reset the connection.", new SocketException((int)SocketError.ConnectionReset))),
                        _ => throw new FormatException($"unknown event '{parts[1]}'"),
                    };
                    target.Add(new Recorded<Notification<byte[]>>(tick, notification));
                    return;
                default:
                    throw new FormatException($"unknown event '{parts[0]}'");
            }
        }

        public RecordedConnection Build() => new(id, _peer, openedAt, _client.ToArray(), _server.ToArray());

        private static byte[] Decode(string base64)
        {
            try
            {
                return Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                throw new FormatException("data is not base64");
            }
        }
    }
}
