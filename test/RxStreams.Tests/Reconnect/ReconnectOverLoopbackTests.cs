using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Reconnect;

/// <summary>
/// Issue 13 item 5: <see cref="Streams.Connect(IEnumerable{EndPoint}, ConnectionOptions?, ReconnectPolicy)"/> against
/// real loopback ports that refuse at once, with the backoff in virtual time (<see cref="GatedVirtualScheduler"/>).
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class ReconnectOverLoopbackTests
{
    private static ReconnectPolicy Exact(int maxAttempts) =>
        new() { MaxAttempts = maxAttempts, InitialDelay = TimeSpan.FromSeconds(1), Multiplier = 2, MaxDelay = TimeSpan.FromMinutes(1), Jitter = 0 };

    [Test]
    public async Task EveryEndpointRefuses_BacksOffInVirtualTime_ThenFailsWithTheRefusal()
    {
        using var closedA = ClosedPort(out var a);
        using var closedB = ClosedPort(out var b);
        var scheduler = new GatedVirtualScheduler();
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var subscription = Streams.Connect([a, b], new ConnectionOptions { Scheduler = scheduler }, Exact(maxAttempts: 3))
            .Subscribe(c => c.Dispose(), e => failed.TrySetResult(e));

        Assert.That(await scheduler.NextDelayAsync(), Is.EqualTo(TimeSpan.FromSeconds(1)), "both endpoints refused: the first backoff");
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.That(await scheduler.NextDelayAsync(), Is.EqualTo(TimeSpan.FromSeconds(2)), "refused again: the delay doubles");
        Assert.That(failed.Task.IsCompleted, Is.False);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(2));

        var error = await failed.Task.Within();
        Assert.That(error, Is.TypeOf<SocketException>().With.Property(nameof(SocketException.SocketErrorCode)).EqualTo(SocketError.ConnectionRefused));
    }

    [Test]
    public async Task TheServerComesUp_DuringTheBackoff_TheNextAttemptConnects()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { StartServing = false }); // bound, refusing
        await using var guard = Loopback.Guard(server);
        using var closed = ClosedPort(out var refusing);
        var scheduler = new GatedVirtualScheduler();
        var connected = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var subscription = Streams.Connect([refusing, server.EndPoints[0]], new ConnectionOptions { Scheduler = scheduler }, Exact(maxAttempts: 3))
            .Subscribe(c => connected.TrySetResult(c), e => connected.TrySetException(e));

        Assert.That(await scheduler.NextDelayAsync(), Is.EqualTo(TimeSpan.FromSeconds(1)));
        server.StartServing();
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));

        var connection = await connected.Task.Within();
        Assert.That(connection.RemoteEndPoint, Is.EqualTo(server.EndPoints[0]), "the second endpoint, once it listens");
    }

    [Test]
    public async Task TheFirstEndpointThatAnswers_IsUsed_WithoutBackoff()
    {
        using var listener = Loopback.Listen();
        using var closed = ClosedPort(out var refusing);
        var connected = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var subscription = Streams.Connect([refusing, new DnsEndPoint("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port)], null, Exact(maxAttempts: 1))
            .Subscribe(c => connected.TrySetResult(c), e => connected.TrySetException(e));

        var connection = await connected.Task.Within();
        Assert.That(connection.RemoteEndPoint, Is.EqualTo(listener.LocalEndPoint));
    }

    [Test]
    public async Task ReconnectAfterClose_EachTimeTheServerCloses_ANewConnectionFollows()
    {
        // Each connection gets one line and is closed by the server: with ReconnectAfterClose the lines keep coming.
        var server = await Streams.StartServerAsync((_, writer) =>
        {
            writer.WriteLine("hi");
            return Task.CompletedTask;
        }, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var scheduler = new GatedVirtualScheduler();
        var policy = Exact(maxAttempts: 3);
        policy.ReconnectAfterClose = true;
        var lines = new List<string>();
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using var subscription = Streams.Connect([server.EndPoints[0]], new ConnectionOptions { Scheduler = scheduler }, policy)
            .SelectMany(c => c.Reader.LinesText())
            .Subscribe(
                line =>
                {
                    lines.Add(line);
                    if (lines.Count == 2)
                    {
                        second.TrySetResult();
                    }
                },
                e => second.TrySetException(e));

        // The first connection is over once its EOF is read: the reconnect waits InitialDelay in virtual time.
        while (await scheduler.NextDelayAsync() != TimeSpan.FromSeconds(1))
        {
            // a closing connection's CloseTimeout, also on this scheduler
        }

        Assert.That(second.Task.IsCompleted, Is.False);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));

        await second.Task.Within();
        Assert.That(lines, Is.EqualTo(new[] { "hi", "hi" }));
    }

    [Test]
    public void Arguments_AreChecked()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentException>(() => Streams.Connect([], null, new ReconnectPolicy()));
            Assert.Throws<ArgumentNullException>(() => Streams.Connect([new IPEndPoint(IPAddress.Loopback, 1)], null, null!));
        });
    }

    /// <summary>A loopback port bound and never listening: every connect to it is refused at once.</summary>
    private static Socket ClosedPort(out IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        endPoint = (IPEndPoint)socket.LocalEndPoint!;
        return socket;
    }
}
