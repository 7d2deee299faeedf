using System.Net.Sockets;
using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary>
/// <see cref="ConnectionOptions.IdleTimeout"/> and <see cref="ConnectionOptions.FrameTimeout"/> as defences on a server:
/// driven by a <see cref="TestScheduler"/> over real loopback sockets (virtual time decides, the sockets only carry
/// bytes), plus one real-time test each.
/// </summary>
public class TimeoutTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Frame = TimeSpan.FromSeconds(5);

    [Test]
    public void Options_RejectNonPositiveTimeouts()
    {
        var options = new ServerOptions();
        Assert.Multiple(() =>
        {
            Assert.That(() => options.IdleTimeout = TimeSpan.Zero, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => options.FrameTimeout = TimeSpan.FromSeconds(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(options.IdleTimeout, Is.Null, "no idle timeout by default");
            Assert.That(options.FrameTimeout, Is.Null, "no frame timeout by default");
        });
        options.IdleTimeout = null; // null is "none"
    }

    [Test]
    public async Task IdleTimeout_VirtualTime_AbortsAQuietConnectionExactlyOnTime_AndActivityMovesTheDeadline()
    {
        await using var run = await VirtualTimeServer.StartAsync(new ServerOptions { IdleTimeout = Idle });
        var (scheduler, client, connection) = (run.Scheduler, run.Client, run.Connection);

        scheduler.AdvanceBy(Idle.Ticks - 1);
        Assert.That(connection.Error, Is.Null, "not yet idle for the whole timeout");

        // Bytes taken by the reader move the deadline: wait until the reader has them, then check the old deadline passes.
        var read = connection.Reader.ReadAsync(100).AsTask();
        await client.SendAllAsync("x");
        Assert.That(Loopback.Text(await read.Within()), Is.EqualTo("x"));
        scheduler.AdvanceBy(Idle.Ticks - 1);
        Assert.That(connection.Error, Is.Null, "activity at 10 s - 1 tick moved the deadline to 20 s - 1 tick");

        var pending = connection.Reader.ReadAsync(100).AsTask();
        var drain = connection.Writer.WaitClosedAsync();
        scheduler.AdvanceBy(1);
        Assert.That(connection.Error, Is.InstanceOf<TimeoutException>(), "aborted the moment the connection was idle for 10 s");
        Assert.That(async () => await pending.Within(), Throws.InstanceOf<TimeoutException>(), "the pending read gets the TimeoutException");
        Assert.That(async () => await drain.Within(), Throws.InstanceOf<TimeoutException>(), "wait_closed raises it");
        Assert.That(() => connection.Writer.Write(Loopback.Bytes("late")), Throws.InstanceOf<TimeoutException>(), "so does a later write");
        Assert.That(await PeerSeesEndAsync(client), Is.True, "the peer is disconnected");
        await connection.Closed.Within();
        await WaitUntilAsync(() => run.Server.ConnectionCount == 0, "the server forgets the connection");
    }

    [Test]
    public async Task IdleTimeout_VirtualTime_SendsCountAsActivity()
    {
        await using var run = await VirtualTimeServer.StartAsync(new ServerOptions { IdleTimeout = Idle });
        var (scheduler, client, connection) = (run.Scheduler, run.Client, run.Connection);

        scheduler.AdvanceBy(Idle.Ticks / 2);
        connection.Writer.Write(Loopback.Bytes("tick"));
        await connection.Writer.DrainAsync().Within();
        Assert.That(Loopback.Text(await client.ReceiveExactlyAsync(4)), Is.EqualTo("tick"));
        scheduler.AdvanceBy(Idle.Ticks - 1);
        Assert.That(connection.Error, Is.Null, "a server that streams to a silent client is not idle");
        scheduler.AdvanceBy(1);
        Assert.That(connection.Error, Is.InstanceOf<TimeoutException>());
    }

    [Test]
    public async Task IdleTimeout_VirtualTime_OneIdlePeerIsShed_OthersAndTheServerGoOn()
    {
        await using var run = await VirtualTimeServer.StartAsync(new ServerOptions { IdleTimeout = Idle });
        var quietConnection = run.Connection;
        run.Scheduler.AdvanceBy(Idle.Ticks / 2);

        var (busy, busyConnection) = await run.ConnectAsync();
        using var busyClient = busy;
        run.Scheduler.AdvanceBy(Idle.Ticks / 2);

        Assert.That(quietConnection.Error, Is.InstanceOf<TimeoutException>(), "idle since 0 s");
        Assert.That(busyConnection.Error, Is.Null, "idle only since 5 s");
        Assert.That(run.Server.IsServing, Is.True);

        var (third, thirdConnection) = await run.ConnectAsync();
        using var thirdClient = third;
        Assert.That(thirdConnection.Error, Is.Null, "the server still accepts");
    }

    [Test]
    public async Task FrameTimeout_VirtualTime_Pull_SlowlorisLineIsCutWithItsBytesInPartial()
    {
        await using var run = await VirtualTimeServer.StartAsync(new ServerOptions { FrameTimeout = Frame });
        var (scheduler, client, connection) = (run.Scheduler, run.Client, run.Connection);

        // A complete line, then a line that trickles: the clock runs from the moment the read waits inside the frame.
        await client.SendAllAsync("whole\nsl");
        Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("whole\n"));
        var line = connection.Reader.ReadLineAsync().AsTask();
        await WaitUntilAsync(() => connection.Reader.Watchdog!.FrameInProgress, "the read waits inside the frame");

        scheduler.AdvanceBy(Frame.Ticks - 1);
        await client.SendAllAsync("ow");
        await WaitUntilAsync(() => connection.Reader.BufferedLength == 4, "the trickled bytes were received");
        Assert.That(connection.Error, Is.Null, "trickling bytes do not restart the frame's clock, but 5 s have not passed");

        scheduler.AdvanceBy(1);
        Assert.That(connection.Error, Is.InstanceOf<TimeoutException>());
        var error = Assert.ThrowsAsync<IncompleteReadException>(async () => await line.Within());
        Assert.That(Loopback.Text(error!.Partial), Is.EqualTo("slow"), "the bytes of the cut frame are delivered");
        Assert.That(error.InnerException, Is.InstanceOf<TimeoutException>());
        Assert.That(await PeerSeesEndAsync(client), Is.True);
    }

    [Test]
    public async Task FrameTimeout_VirtualTime_Push_FramesThatFinishInTimeFlow_TheStuckOneAbortsOnlyItsConnection()
    {
        await using var run = await VirtualTimeServer.StartAsync(new ServerOptions { FrameTimeout = Frame });
        var (scheduler, client, connection) = (run.Scheduler, run.Client, run.Connection);
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
        var ended = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var framing = connection.Reader.Lines().Subscribe(
            l => lines.Writer.TryWrite(Loopback.Text(l)), e => ended.TrySetResult(e), () => ended.TrySetResult(null));

        // Each line takes 4 s of virtual time to arrive in two parts: always under the 5 s bound.
        for (int i = 0; i < 3; i++)
        {
            await client.SendAllAsync($"li");
            await WaitUntilAsync(() => connection.Reader.Watchdog!.FrameInProgress, "the framer holds part of a line");
            scheduler.AdvanceBy(TimeSpan.FromSeconds(4).Ticks);
            await client.SendAllAsync($"ne{i}\n");
            Assert.That(await lines.Reader.ReadAsync().AsTask().Within(), Is.EqualTo($"line{i}\n"));
            Assert.That(connection.Reader.Watchdog!.FrameInProgress, Is.False, "a complete frame stops the clock");
        }

        await client.SendAllAsync("stuck");
        await WaitUntilAsync(() => connection.Reader.Watchdog!.FrameInProgress, "the framer holds part of a line");
        scheduler.AdvanceBy(Frame.Ticks);
        var error = await ended.Task.Within();
        Assert.That(error, Is.InstanceOf<IncompleteReadException>());
        Assert.That(Loopback.Text(((IncompleteReadException)error!).Partial), Is.EqualTo("stuck"));
        Assert.That(error.InnerException, Is.InstanceOf<TimeoutException>());

        var (second, secondConnection) = await run.ConnectAsync();
        using var secondClient = second;
        Assert.That(secondConnection.Error, Is.Null, "the server keeps accepting");
    }

    [Test]
    public async Task FrameTimeout_VirtualTime_AQuietConnectionBetweenFramesIsNotAFrame()
    {
        await using var run = await VirtualTimeServer.StartAsync(new ServerOptions { FrameTimeout = Frame });
        var (scheduler, client, connection) = (run.Scheduler, run.Client, run.Connection);
        var line = connection.Reader.ReadLineAsync().AsTask();

        scheduler.AdvanceBy(Frame.Ticks * 10);
        Assert.That(connection.Error, Is.Null, "waiting for a frame's first byte is idleness, not a slow frame");
        await client.SendAllAsync("hello\n");
        Assert.That(Loopback.Text(await line.Within()), Is.EqualTo("hello\n"));
    }

    [Test]
    public async Task IdleTimeout_RealTime_ShedsASilentClient()
    {
        var options = new ServerOptions { IdleTimeout = TimeSpan.FromMilliseconds(200) };
        var outcome = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await Streams.StartServerAsync(async (reader, writer) =>
        {
            try
            {
                await reader.ReadAsync(100);
                outcome.TrySetResult(null);
            }
            catch (Exception error)
            {
                outcome.TrySetResult(error);
            }
        }, "127.0.0.1", 0, options).Within();
        await using var guard = Loopback.Guard(server);
        var started = DateTime.UtcNow;
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        Assert.That(await outcome.Task.Within(), Is.InstanceOf<TimeoutException>());
        Assert.That(DateTime.UtcNow - started, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190)), "not before the timeout (timer slack aside)");
        Assert.That(await PeerSeesEndAsync(client), Is.True);
    }

    [Test]
    public async Task IdleTimeout_OnAClientConnection_VirtualTime_ServerThatNeverAnswers()
    {
        // The options are ConnectionOptions, so a client gets the same defence against a server that hangs.
        var scheduler = new TestScheduler();
        using var listener = Loopback.Listen();
        var accepting = listener.AcceptAsync();
        var connection = await Streams.OpenConnectionAsync("127.0.0.1", ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port,
            new ConnectionOptions { IdleTimeout = Idle, Scheduler = scheduler }).Within();
        using var server = await accepting.Within();
        connection.Writer.Write(Loopback.Bytes("request\n"));
        await connection.Writer.DrainAsync().Within();
        Assert.That(Loopback.Text(await server.ReceiveExactlyAsync(8)), Is.EqualTo("request\n"));
        var reply = connection.Reader.ReadLineAsync().AsTask();

        scheduler.AdvanceBy(Idle.Ticks);
        Assert.That(async () => await reply.Within(), Throws.InstanceOf<TimeoutException>());
        await connection.Closed.Within();
    }

    [Test]
    public async Task FrameTimeout_RealTime_SlowlorisIsCutWhileAPromptClientIsServed()
    {
        var options = new ServerOptions { FrameTimeout = TimeSpan.FromMilliseconds(300) };
        await using var server = await Streams.StartServerAsync(async (reader, writer) =>
        {
            await foreach (var line in reader)
            {
                writer.Write(line);
                await writer.DrainAsync();
            }
        }, "127.0.0.1", 0, options).Within();
        await using var guard = Loopback.Guard(server);
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });

        using var slowloris = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await slowloris.SendAllAsync("GET / HTTP/1.1 and never the end of the line");
        var (reader, writer) = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        writer.Write(Loopback.Bytes("ping\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("ping\n"));

        Assert.That(await PeerSeesEndAsync(slowloris), Is.True, "the slowloris is disconnected");
        writer.Write(Loopback.Bytes("still here\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("still here\n"), "the prompt client is unaffected");
        writer.Close();
        await writer.WaitClosedAsync().Within();
        Assert.That(errors.Select(e => e.GetBaseException()), Has.All.InstanceOf<TimeoutException>(), "only the timeout is reported, if anything");
    }
}
