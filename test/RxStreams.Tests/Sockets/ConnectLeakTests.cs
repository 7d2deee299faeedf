using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Reliability;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// Connects that fail leave no socket behind. The process's sockets are counted in
/// <c>/proc/self/fd</c> (Linux) before and after thousands of refused and timed-out connects.
/// </summary>
[TestFixture]
[NonParallelizable] // counts every socket of the process
[CancelAfter(120_000)]
public sealed class ConnectLeakTests
{
    private const int Attempts = 10_000;
    private const int AtOnce = 100; // concurrent attempts per batch

    [Test]
    public async Task RefusedConnects_LeaveTheSocketCountUnchanged()
    {
        // Bound, never listening: every connect to it is refused, and nothing else can take the port meanwhile.
        using var closedPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closedPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)closedPort.LocalEndPoint!).Port;
        await ExpectFailureAsync(() => Streams.OpenConnectionAsync("127.0.0.1", port), typeof(SocketException)); // warms up the socket engine

        int before = ReliabilityKit.OpenSockets();
        var clock = Stopwatch.StartNew();
        await ConnectManyAsync(() => Streams.OpenConnectionAsync("127.0.0.1", port), typeof(SocketException));
        TestContext.Out.WriteLine($"{Attempts} refused connects in {clock.Elapsed.TotalSeconds:F1} s");

        Assert.That(ReliabilityKit.OpenSockets(), Is.AtMost(before), "sockets of earlier tests may close meanwhile; none may be added");
    }

    [Test]
    public async Task RefusedUnixConnects_LeaveTheSocketCountUnchanged()
    {
        // A Unix socket bound and never listening: every connect to it is refused.
        var directory = Directory.CreateTempSubdirectory("rxs-leak-");
        try
        {
            var path = Path.Combine(directory.FullName, "refusing.sock");
            using var refusing = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            refusing.Bind(new UnixDomainSocketEndPoint(path));
            await ExpectFailureAsync(() => Streams.OpenUnixConnectionAsync(path), typeof(SocketException));

            int before = ReliabilityKit.OpenSockets();
            await ConnectManyAsync(() => Streams.OpenUnixConnectionAsync(path), typeof(SocketException));

            Assert.That(ReliabilityKit.OpenSockets(), Is.AtMost(before), "sockets of earlier tests may close meanwhile; none may be added");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task TimedOutConnects_LeaveTheSocketCountUnchanged()
    {
        // A listener that never accepts, with its accept queue full: the kernel drops further SYNs, so a connect to it
        // stays pending (until the SYN retransmit a second later) and the 1 ms connect timeout always fires first.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var queued = await FillAcceptQueueAsync(listener.LocalEndPoint!);
        try
        {
            var options = new ConnectionOptions { ConnectTimeout = TimeSpan.FromMilliseconds(1) };
            await ExpectFailureAsync(() => Streams.OpenConnectionAsync("127.0.0.1", port, options), typeof(TimeoutException));

            int before = ReliabilityKit.OpenSockets();
            var clock = Stopwatch.StartNew();
            await ConnectManyAsync(() => Streams.OpenConnectionAsync("127.0.0.1", port, options), typeof(TimeoutException));
            TestContext.Out.WriteLine($"{Attempts} timed-out connects in {clock.Elapsed.TotalSeconds:F1} s");

            Assert.That(ReliabilityKit.OpenSockets(), Is.AtMost(before), "sockets of earlier tests may close meanwhile; none may be added");
        }
        finally
        {
            foreach (var socket in queued)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Connects until one does not complete (the accept queue is full); bounded in attempts.</summary>
    private static async Task<List<Socket>> FillAcceptQueueAsync(EndPoint endPoint)
    {
        var queued = new List<Socket>();
        for (int i = 0; i < 16; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var patience = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)); // a SYN retransmit takes 1 s
            try
            {
                await socket.ConnectAsync(endPoint, patience.Token);
                queued.Add(socket);
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                return queued;
            }
        }

        foreach (var socket in queued)
        {
            socket.Dispose();
        }

        Assert.Inconclusive("The listener's accept queue never filled up (not Linux-like SYN handling?).");
        return queued;
    }

    private static async Task ConnectManyAsync(Func<Task<StreamConnection>> connect, Type expected)
    {
        for (int done = 0; done < Attempts; done += AtOnce)
        {
            await Task.WhenAll(Enumerable.Range(0, AtOnce).Select(_ => ExpectFailureAsync(connect, expected))).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task ExpectFailureAsync(Func<Task<StreamConnection>> connect, Type expected)
    {
        try
        {
            await using var connection = await connect();
        }
        catch (Exception error) when (error.GetType() == expected)
        {
            return;
        }

        Assert.Fail($"the connect was expected to fail with {expected.Name}");
    }
}
