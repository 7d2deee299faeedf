using System.Reactive;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Cli;
using RxStreams.Cli.Commands;
using RxStreams.Cli.Options;
using RxStreams.Testing;

namespace RxStreams.Tests.Simulation;

/// <summary>
/// <c>rxstreams record</c> between a real client and a real server on loopback, then the recording replayed as a marble
/// test against the same handler: the handler answers what the recorded server answered.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public partial class RecordReplayTests
{
    /// <summary>PING → +PONG, QUIT → +BYE and the end of the handler (the connection closes).</summary>
    private static async Task PingHandler(ConnectionReader reader, ConnectionWriter writer)
    {
        await foreach (var line in reader.ReadLinesAsync())
        {
            switch (Encoding.ASCII.GetString(line.Span).TrimEnd())
            {
                case "PING":
                    writer.Write("+PONG\r\n"u8);
                    break;
                case "QUIT":
                    writer.Write("+BYE\r\n"u8);
                    return;
                default:
                    writer.Write("-ERR\r\n"u8);
                    break;
            }
        }
    }

    [GeneratedRegex(@"Recording \('127\.0\.0\.1', (\d+)\)")]
    private static partial Regex RecordingPort();

    [Test]
    public async Task Record_LogsBothDirections_AndTheRecordingReplaysAgainstTheHandler()
    {
        await using var server = await Streams.StartServerAsync(PingHandler, "127.0.0.1", 0);
        int serverPort = ((System.Net.IPEndPoint)server.EndPoints[0]).Port;
        string path = Path.Combine(Path.GetTempPath(), "rxstreams-recording-" + Guid.NewGuid().ToString("N"));
        var output = new StringWriter();
        var console = new CliConsole
        {
            Output = TextWriter.Synchronized(output),
            Error = TextWriter.Synchronized(new StringWriter()),
            OpenInput = static () => throw new InvalidOperationException("record reads no stdin"),
            OpenRawOutput = static () => throw new InvalidOperationException("record writes no raw output"),
        };
        using var stop = new CancellationTokenSource();
        try
        {
            var recording = RecordCommand.RunAsync(new HostPort("127.0.0.1", 0), new HostPort("127.0.0.1", serverPort), path, console, stop.Token);
            int port = 0;
            for (int i = 0; i < 500 && port == 0 && !recording.IsCompleted; i++)
            {
                var match = RecordingPort().Match(output.ToString());
                port = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
                await Task.Delay(10);
            }

            Assert.That(port, Is.Not.Zero, output.ToString());
            await using (var client = await Streams.OpenConnectionAsync("127.0.0.1", port))
            {
                client.Writer.Write("PING\r\n"u8);
                Assert.That(Encoding.ASCII.GetString((await client.Reader.ReadLineAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Span), Is.EqualTo("+PONG\r\n"));
                client.Writer.Write("QUIT\r\n"u8);
                Assert.That(Encoding.ASCII.GetString((await client.Reader.ReadAsync(-1).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Span), Is.EqualTo("+BYE\r\n"));
            }

            // The server's FIN reached the client; the proxy logs the client's own end just after: wait for it.
            for (int i = 0; i < 500 && !File.ReadAllText(path).Contains(" > eof", StringComparison.Ordinal); i++)
            {
                await Task.Delay(10);
            }

            await stop.CancelAsync();
            await recording.WaitAsync(TimeSpan.FromSeconds(10));

            var connection = Recording.Load(path).Connections.Single();
            Assert.That(connection.ClientText, Is.EqualTo("PING\r\nQUIT\r\n"), File.ReadAllText(path));
            Assert.That(connection.ServerText, Is.EqualTo("+PONG\r\n+BYE\r\n"), File.ReadAllText(path));
            Assert.That(connection.ClientSends[^1].Value.Kind, Is.EqualTo(NotificationKind.OnCompleted));

            // The regression test: the client's side at its recorded ticks, against the handler, in virtual time.
            var scheduler = new TestScheduler();
            var replay = scheduler.CreateConnection(null, connection.ClientSends);
            var handled = replay.Start(PingHandler);
            scheduler.Start();
            await handled.WaitAsync(TimeSpan.FromSeconds(10));
            var answered = string.Concat(replay.Written.Where(static r => r.Value.Kind == NotificationKind.OnNext).Select(static r => r.Value.Value));
            Assert.That(answered, Is.EqualTo(connection.ServerText));

            var source = connection.ToMarbleTest(startHandler: "_ = connection.Start(PingHandler);");
            Assert.That(source, Does.Contain("scheduler.CreateConnection(").And.Contain("\"PING\\r\\n\"").And.Contain("Is.EqualTo(\"+PONG\\r\\n+BYE\\r\\n\")"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Recording_Parse_MakesTimelinesFromTheOpening_AndRejectsGarbage()
    {
        var recording = Recording.Parse(
            "# rxstreams recording 1\n" +
            "1.0000000 1 open 127.0.0.1:5555\n" +
            "1.0010000 1 > data UElORw0K\n" +
            "1.0020000 1 < data K1BPTkcNCg==\n" +
            "1.5000000 1 > reset\n");

        var connection = recording.Connections.Single();
        Assert.That(connection.Peer, Is.EqualTo("127.0.0.1:5555"));
        Assert.That(connection.ClientSends.Select(static r => r.Time), Is.EqualTo(new[] { 10_000L, 5_000_000L }));
        Assert.That(connection.ClientSends[1].Value.Kind, Is.EqualTo(NotificationKind.OnError));
        Assert.That(connection.ServerText, Is.EqualTo("+PONG\r\n"));
        Assert.That(() => Recording.Parse("1.0 1 > data !!!\n"), Throws.TypeOf<FormatException>().With.Message.Contains("line 1"));
    }
}
