using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Internal.Connect;
using RxStreams.Tests.Reliability;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// Issue 13 item 5: Happy Eyeballs (asyncio's <c>happy_eyeballs_delay</c> and <c>interleave</c>, RFC 8305) over
/// loopback addresses of one port, one of which never answers.
/// </summary>
[TestFixture]
[NonParallelizable] // counts every socket of the process
[CancelAfter(60_000)]
public sealed class HappyEyeballsTests
{
    private static readonly IPAddress Silent = IPAddress.Parse("127.0.0.2");

    [Test]
    public async Task SlowAddressFirst_TheOneThatAnswersWins_AndTheLoserIsClosed()
    {
        using var good = Loopback.Listen();
        int port = ((IPEndPoint)good.LocalEndPoint!).Port;
        using var silent = SilentListener(port, out var queued);
        try
        {
            int before = ReliabilityKit.OpenSockets();
            var options = new ConnectionOptions { HappyEyeballsDelay = TimeSpan.FromMilliseconds(50), ConnectTimeout = TimeSpan.FromSeconds(50) };

            using var socket = await HappyEyeballs.ConnectAsync([Silent, IPAddress.Loopback], port, options, CancellationToken.None).Within();

            Assert.That(socket.RemoteEndPoint, Is.EqualTo(good.LocalEndPoint), "the address that answers wins");
            Assert.That(ReliabilityKit.OpenSockets(), Is.AtMost(before + 1), "only the winner's socket is open: the silent address's attempt was closed");
        }
        finally
        {
            queued.ForEach(s => s.Dispose());
        }
    }

    [Test]
    public async Task PublicConnect_WithHappyEyeballs_StillConnectsToASingleAddress()
    {
        using var good = Loopback.Listen();
        int port = ((IPEndPoint)good.LocalEndPoint!).Port;
        var options = new ConnectionOptions { HappyEyeballsDelay = TimeSpan.FromMilliseconds(250) };

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", port, options).Within();

        Assert.That(connection.RemoteEndPoint, Is.EqualTo(good.LocalEndPoint));
    }

    [Test]
    public async Task AFailedAttempt_StartsTheNextAtOnce_WithoutWaitingForTheDelay()
    {
        using var good = Loopback.Listen();
        int port = ((IPEndPoint)good.LocalEndPoint!).Port;
        // Nothing on 127.0.0.2 at this port: refused at once. The delay is far beyond the test's bound.
        var options = new ConnectionOptions { HappyEyeballsDelay = TimeSpan.FromHours(1) };

        using var socket = await HappyEyeballs.ConnectAsync([Silent, IPAddress.Loopback], port, options, CancellationToken.None).Within();

        Assert.That(socket.RemoteEndPoint, Is.EqualTo(good.LocalEndPoint));
    }

    [Test]
    public void EveryAddressRefused_RaisesTheFirstFailure()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never listening: refused
        int port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        var options = new ConnectionOptions { HappyEyeballsDelay = TimeSpan.FromMilliseconds(250) };

        var refused = Assert.ThrowsAsync<SocketException>(() => HappyEyeballs.ConnectAsync([Silent, IPAddress.Loopback], port, options, CancellationToken.None).Within());

        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
    }

    [Test]
    public void Interleave_AlternatesFamilies_AsAsyncio()
    {
        var v6a = IPAddress.Parse("::1");
        var v6b = IPAddress.Parse("fe80::1");
        var v6c = IPAddress.Parse("fe80::2");
        var v4a = IPAddress.Parse("127.0.0.1");
        var v4b = IPAddress.Parse("127.0.0.2");
        IPAddress[] resolved = [v6a, v6b, v6c, v4a, v4b];

        Assert.Multiple(() =>
        {
            Assert.That(HappyEyeballs.Interleave(resolved, 0), Is.EqualTo(resolved), "0 keeps the resolver's order");
            Assert.That(HappyEyeballs.Interleave(resolved, 1), Is.EqualTo(new[] { v6a, v4a, v6b, v4b, v6c }));
            Assert.That(HappyEyeballs.Interleave(resolved, 2), Is.EqualTo(new[] { v6a, v6b, v4a, v6c, v4b }));
            Assert.That(HappyEyeballs.Interleave([v4a, v6a, v4b], 1), Is.EqualTo(new[] { v4a, v6a, v4b }), "the first family is the resolver's first");
        });
    }

    [Test]
    public void Options_RejectNegativeValues()
    {
        var options = new ConnectionOptions();
        Assert.Multiple(() =>
        {
            Assert.That(options.HappyEyeballsDelay, Is.Null);
            Assert.That(options.Interleave, Is.Null);
            Assert.Throws<ArgumentOutOfRangeException>(() => options.HappyEyeballsDelay = TimeSpan.FromMilliseconds(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => options.Interleave = -1);
        });
    }

    /// <summary>
    /// A listener on 127.0.0.2 at <paramref name="port"/> that never accepts, its accept queue full: the kernel drops
    /// further SYNs, so a connect to it stays pending (see <see cref="ConnectLeakTests"/>).
    /// </summary>
    internal static Socket SilentListener(int port, out List<Socket> queued)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(Silent, port));
            listener.Listen(0);
            queued = FillAcceptQueue(listener.LocalEndPoint!);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Connects until one does not complete (the accept queue is full); bounded in attempts.</summary>
    private static List<Socket> FillAcceptQueue(EndPoint endPoint)
    {
        var queued = new List<Socket>();
        for (int i = 0; i < 16; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var patience = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)); // a SYN retransmit takes 1 s
            try
            {
                socket.ConnectAsync(endPoint, patience.Token).AsTask().GetAwaiter().GetResult();
                queued.Add(socket);
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                return queued;
            }
        }

        queued.ForEach(s => s.Dispose());
        Assert.Inconclusive("The listener's accept queue never filled up (not Linux-like SYN handling?).");
        return queued;
    }
}
