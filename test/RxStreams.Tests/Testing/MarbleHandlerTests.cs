using System.Reactive.Concurrency;
using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Testing;

namespace RxStreams.Tests.Testing;

/// <summary>
/// Protocol handlers tested the way a user of RxStreams.Testing would: a timeline in, the recorded output asserted with
/// marbles, no sockets, all in virtual time.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class MarbleHandlerTests : ReactiveTest
{
    /// <summary>A push-style line protocol: PING → +PONG, QUIT → +BYE and close, anything else → -ERR; idle for 1000 ticks → closed.</summary>
    private static IDisposable PingServer(StreamConnection connection, IScheduler scheduler)
    {
        var writer = connection.Writer;
        return connection.Reader
            .LinesText()
            .Timeout(TimeSpan.FromTicks(1000), scheduler)
            .Subscribe(
                line =>
                {
                    switch (line)
                    {
                        case "PING":
                            writer.WriteText("+PONG\r\n");
                            break;
                        case "QUIT":
                            writer.WriteText("+BYE\r\n");
                            writer.Close();
                            break;
                        default:
                            writer.WriteText("-ERR unknown command\r\n");
                            break;
                    }
                },
                _ => writer.Close(), // idle (or failed): say nothing more, close
                () => writer.Close());
    }

    /// <summary>An asyncio-style handler: a greeting, then every line upper-cased until the peer's EOF.</summary>
    private static async Task UpperServer(ConnectionReader reader, ConnectionWriter writer)
    {
        writer.WriteLine("HELLO");
        await foreach (var line in reader.ReadLinesAsync())
        {
            writer.WriteText(Sockets.Loopback.Text(line).ToUpperInvariant());
        }
    }

    [Test]
    public void PushHandler_AnswersEachLine_AtTheTickItArrived_AndBatchesOneDispatch()
    {
        var scheduler = new TestScheduler();
        var connection = scheduler.CreateConnection(
            OnNext(100, "PING\r\n"),
            OnNext(200, "PI"),
            OnNext(250, "NG\r\nPING\r\n"),
            OnNext(300, "HELP\r\n"),
            OnNext(400, "QUIT\r\n"),
            OnNext(500, "PING\r\n")); // after the handler closed: lost, as on a socket
        using var handler = PingServer(connection.Connection, scheduler);

        scheduler.Start();

        Assert.That(connection.WrittenLines, Is.EqualTo(new[]
        {
            OnNext(100, "+PONG"),
            OnNext(250, "+PONG"),
            OnNext(250, "+PONG"),
            OnNext(300, "-ERR unknown command"),
            OnNext(400, "+BYE"),
            OnCompleted<string>(400),
        }));

        // The two answers of one received chunk left in one send, as they would on a socket.
        Assert.That(connection.Written[1], Is.EqualTo(OnNext(250, "+PONG\r\n+PONG\r\n")));
    }

    [Test]
    public void ReadmeExample_AnswersEachLine_AtTheTickItArrived() // the README's marble example, verbatim
    {
        var scheduler = new TestScheduler();
        var connection = scheduler.CreateConnection(
            OnNext(100, "PING\r\n"),
            OnNext(200, "PI"), OnNext(250, "NG\r\nQUIT\r\n"));
        using var handler = PingServer(connection.Connection, scheduler); // your handler, push style

        scheduler.Start();

        Assert.That(connection.WrittenLines, Is.EqualTo(new[]
        {
            OnNext(100, "+PONG"),
            OnNext(250, "+PONG"),
            OnNext(250, "+BYE"),
            OnCompleted<string>(250), // the handler closed the connection
        }));
    }

    [Test]
    public void PushHandler_IdleConnection_IsClosedByTheTimeout_InVirtualTime()
    {
        var scheduler = new TestScheduler();
        var connection = scheduler.CreateConnection(OnNext(100, "PING\r\n"));
        using var handler = PingServer(connection.Connection, scheduler);

        scheduler.Start();

        Assert.That(connection.WrittenLines, Is.EqualTo(new[]
        {
            OnNext(100, "+PONG"),
            OnCompleted<string>(1100), // 1000 ticks after the last line
        }));
        Assert.That(scheduler.Clock, Is.EqualTo(1100));
    }

    [Test]
    public void PushHandler_PeerEof_ClosesAfterAnsweringWhatCameFirst()
    {
        var scheduler = new TestScheduler();
        var connection = scheduler.CreateConnection(OnNext(100, "PING\r\nPING"), OnCompleted<string>(150));
        using var handler = PingServer(connection.Connection, scheduler);

        scheduler.Start();

        // The last line has no line ending: LinesText still delivers it at the EOF.
        Assert.That(connection.WrittenLines, Is.EqualTo(new[]
        {
            OnNext(100, "+PONG"),
            OnNext(150, "+PONG"),
            OnCompleted<string>(150),
        }));
    }

    [Test]
    public async Task PullHandler_GreetsAtTickZero_AnswersLines_AndClosesAfterEof()
    {
        var scheduler = new TestScheduler();
        var connection = scheduler.CreateConnection(OnNext(10, "a\n"), OnNext(20, "b\nc\n"), OnCompleted<string>(30));
        var handling = connection.Start(UpperServer);

        scheduler.Start();

        await handling.WaitAsync(Sockets.Loopback.Timeout);
        Assert.That(connection.WrittenLines, Is.EqualTo(new[]
        {
            OnNext(0, "HELLO"),
            OnNext(10, "A"),
            OnNext(20, "B"),
            OnNext(20, "C"),
            OnCompleted<string>(30),
        }));
    }

    [Test]
    public void PullHandler_InputFails_HandlerFaults_AndTheConnectionIsAborted()
    {
        var scheduler = new TestScheduler();
        var reset = new IOException("reset by the test");
        var connection = scheduler.CreateConnection(OnNext(10, "a\nhalf"), OnError<string>(40, reset));
        var handling = connection.Start(UpperServer);

        scheduler.Start();

        // The complete line is answered; the cut one raises IncompleteRead wrapping the error, which fails the handler.
        var error = Assert.ThrowsAsync<IncompleteReadException>(async () => await handling.WaitAsync(Sockets.Loopback.Timeout));
        Assert.That(error!.InnerException, Is.SameAs(reset));
        var written = connection.WrittenLines;
        Assert.That(written.Take(2), Is.EqualTo(new[] { OnNext(0, "HELLO"), OnNext(10, "A") }));
        Assert.That(written[2].Time, Is.EqualTo(40));
        // An abort reaches the peer as a reset, exactly what a socket peer would read.
        var seenByPeer = written[2].Value.Exception as IOException;
        Assert.That((seenByPeer?.InnerException as System.Net.Sockets.SocketException)?.SocketErrorCode, Is.EqualTo(System.Net.Sockets.SocketError.ConnectionReset));
    }

    [Test]
    public async Task PullHandler_CloseRequestedAtTick500_SaysGoodbyeAndClosesThen()
    {
        var scheduler = new TestScheduler();
        var connection = scheduler.CreateConnection(OnNext(100, "a\n"));
        var handling = connection.Start(static async (reader, writer) =>
        {
            try
            {
                await foreach (var line in reader.ReadLinesAsync(writer.CloseRequested))
                {
                    writer.Write(line);
                }
            }
            catch (OperationCanceledException) when (writer.CloseRequested.IsCancellationRequested)
            {
                writer.WriteLine("bye");
            }
        });
        scheduler.ScheduleAbsolute(500, () => connection.RequestClose()); // what a server's ShutdownAsync does

        scheduler.Start();

        await handling.WaitAsync(Sockets.Loopback.Timeout);
        Assert.That(connection.WrittenLines, Is.EqualTo(new[]
        {
            OnNext(100, "a"),
            OnNext(500, "bye"),
            OnCompleted<string>(500),
        }));
    }

    [Test]
    public void LimitOverrun_InATimeline_FailsTheHandlersChain()
    {
        var scheduler = new TestScheduler();
        var connection = scheduler.CreateConnection(new ConnectionOptions { Limit = 8 }, OnNext(10, "PING\r\n"), OnNext(20, "AAAAAAAAAAAAAAAA\r\n"));
        var errors = new List<Exception>();
        using var handler = connection.Reader.Lines(connection.Reader.Limit).Subscribe(
            line => connection.Writer.Write(line),
            error =>
            {
                errors.Add(error);
                connection.Writer.Abort();
            });

        scheduler.Start();

        Assert.That(errors, Has.Count.EqualTo(1).And.All.InstanceOf<LimitOverrunException>());
        Assert.That(connection.Written[0], Is.EqualTo(OnNext(10, "PING\r\n")));
        Assert.That(connection.Written[1].Time, Is.EqualTo(20));
        Assert.That(connection.Written[1].Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnError));
    }

    [Test]
    public void CreateConnection_ArgumentChecks()
    {
        var scheduler = new TestScheduler();
        Assert.Throws<ArgumentNullException>(() => TestSchedulerConnectionExtensions.CreateConnection(null!, OnNext(1, "x")));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.CreateConnection(new ConnectionOptions { HighWaterMark = 1, LowWaterMark = 2 }, OnNext(1, "x")));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.CreateConnection().InputWaitTimeout = TimeSpan.FromSeconds(-1));
    }
}
