using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;

namespace RxStreams.Tests.Sockets;

/// <summary>asyncio's open_connection / start_server parameters and Server lifecycle, each test naming what it ports.</summary>
[TestFixture]
public sealed class ParityTests
{
    private static IDisposable Echo(StreamServer server) => server.Subscribe(c => c.Reader.Subscribe(c.Writer));

    private static async Task<string> RoundTripAsync(EndPoint endPoint, string text)
    {
        using var client = await Loopback.ConnectRawAsync(endPoint);
        await client.SendAllAsync(text);
        client.Shutdown(SocketShutdown.Send);
        return Loopback.Text(await client.ReceiveToEndAsync().Within());
    }

    [Test]
    public async Task StartServing_False_BoundButRefusingUntilStartServing() // asyncio start_server(start_serving=False)
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { StartServing = false });
        await using var guard = Loopback.Guard(server);
        using var echo = Echo(server);
        Assert.That(server.IsServing, Is.False);
        var refused = Assert.ThrowsAsync<SocketException>(async () => await Loopback.ConnectRawAsync(server.EndPoints[0]));
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));

        server.StartServing();
        server.StartServing(); // idempotent, as asyncio's

        Assert.That(server.IsServing, Is.True);
        Assert.That(await RoundTripAsync(server.EndPoints[0], "now"), Is.EqualTo("now"));
    }

    [Test]
    public async Task StartServing_AfterClose_IsInvalid() // asyncio: start_serving() after close() fails
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        server.Close();
        Assert.Multiple(() =>
        {
            Assert.That(server.IsServing, Is.False);
            Assert.That(server.Sockets, Is.Empty, "asyncio: sockets is () after close()");
            Assert.Throws<InvalidOperationException>(server.StartServing);
            Assert.ThrowsAsync<InvalidOperationException>(() => server.ServeForeverAsync());
        });
        await server.WaitClosedAsync().Within();
    }

    [Test]
    public async Task ReusePort_TwoServersOnOnePort_BothReceiveConnections() // asyncio start_server(reuse_port=True)
    {
        var options = new ServerOptions { ReusePort = true };
        var first = await Streams.StartServerAsync("127.0.0.1", 0, options);
        await using var firstGuard = Loopback.Guard(first);
        var second = await Streams.StartServerAsync("127.0.0.1", first.Port(), options);
        await using var secondGuard = Loopback.Guard(second);
        int toFirst = 0, toSecond = 0;
        using var a = first.Subscribe(c => { Interlocked.Increment(ref toFirst); c.Dispose(); });
        using var b = second.Subscribe(c => { Interlocked.Increment(ref toSecond); c.Dispose(); });

        // The kernel hashes connections over the two sockets; 200 attempts make missing one vanishingly unlikely.
        for (int i = 0; i < 200 && (Volatile.Read(ref toFirst) == 0 || Volatile.Read(ref toSecond) == 0); i++)
        {
            using var client = await Loopback.ConnectRawAsync(first.EndPoints[0]);
            await client.ReceiveToEndAsync().Within(); // closed gracefully by whichever server got it
        }

        Assert.Multiple(() =>
        {
            Assert.That(toFirst, Is.GreaterThan(0), "connections to the first server");
            Assert.That(toSecond, Is.GreaterThan(0), "connections to the second server");
        });
    }

    [Test]
    public async Task SeveralHosts_PortZero_EachSocketGetsItsOwnPort() // asyncio start_server(host=[...], port=0)
    {
        Assume.That(Loopback.IPv6LoopbackAvailable(), "needs ::1");
        var server = await Streams.StartServerAsync(["127.0.0.1", "::1"], 0);
        await using var guard = Loopback.Guard(server);
        using var echo = Echo(server);
        Assert.That(server.EndPoints, Has.Count.EqualTo(2));
        Assert.That(await RoundTripAsync(server.EndPoints[0], "v4"), Is.EqualTo("v4"));
        Assert.That(await RoundTripAsync(server.EndPoints[1], "v6"), Is.EqualTo("v6"));
    }

    [Test]
    public async Task Family_RestrictsResolvedAddresses() // asyncio open_connection(family=AF_INET)
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var echo = Echo(server);
        await using var connection = await Streams.OpenConnectionAsync("localhost", server.Port(), new ConnectionOptions { Family = AddressFamily.InterNetwork }).Within();
        Assert.That(connection.RemoteEndPoint!.AddressFamily, Is.EqualTo(AddressFamily.InterNetwork));
    }

    [Test]
    public async Task ExistingSockets_ConnectedAndListening_AreAdopted() // asyncio open_connection(sock=...), start_server(sock=...)
    {
        var listening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listening.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var server = Streams.StartServer(listening);
        await using var guard = Loopback.Guard(server);
        using var echo = Echo(server);

        var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(server.EndPoints[0]).Within();
        await using var connection = Streams.OpenConnection(raw);
        connection.Writer.Write(Loopback.Bytes("adopted\n"));
        Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("adopted\n"));

        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.Throws<ArgumentException>(() => Streams.OpenConnection(udp), "asyncio: 'A Stream Socket was expected'");
    }

    [Test]
    public async Task KeepAlive_SetsSoKeepAlive() // asyncio start_server(keep_alive=True), 3.13
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { KeepAlive = true });
        await using var guard = Loopback.Guard(server);
        var accepted = server.FirstAsync().ToTask();
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { KeepAlive = true });
        await using var serverSide = await accepted.Within();
        Assert.Multiple(() =>
        {
            Assert.That((int)client.Socket!.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!, Is.Not.Zero);
            Assert.That((int)serverSide.Socket!.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!, Is.Not.Zero, "inherited from the listening socket on Linux");
            Assert.That(client.Socket!.NoDelay, Is.True, "asyncio sets TCP_NODELAY on every TCP socket");
        });
    }

    [Test]
    public async Task ConnectTimeout_RunsOnTheScheduler_VirtualTime() // asyncio: wait_for(open_connection(...), timeout)
    {
        // A listener that never accepts, with its queue filled, leaves further connects waiting for the SYN retry.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var fillers = new List<Socket>();
        try
        {
            Task<StreamConnection>? pending = null;
            var scheduler = new TestScheduler();
            for (int i = 0; i < 8 && pending is null; i++)
            {
                var attempt = Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, new ConnectionOptions { ConnectTimeout = TimeSpan.FromSeconds(3), Scheduler = scheduler });
                if (await Task.WhenAny(attempt, Task.Delay(300)) != attempt)
                {
                    pending = attempt; // this one is stuck in the kernel
                }
                else
                {
                    fillers.Add((await attempt).Socket!);
                }
            }

            Assume.That(pending, Is.Not.Null, "could not make a connect wait on this kernel");
            scheduler.AdvanceBy(TimeSpan.FromSeconds(2).Ticks);
            Assert.That(pending!.IsCompleted, Is.False, "2 s of virtual time: not yet");
            scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);
            Assert.ThrowsAsync<TimeoutException>(async () => await pending.Within());
        }
        finally
        {
            fillers.ForEach(static s => s.Dispose());
        }
    }

    [Test]
    public async Task HandlerForm_CloseRequestedOnShutdown_HandlerFinishesItsExchange() // beyond asyncio: the per-connection close signal
    {
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                // A handler that serves lines until told to stop.
                while (!writer.CloseRequested.IsCancellationRequested)
                {
                    var line = await reader.ReadLineAsync(writer.CloseRequested);
                    if (line.IsEmpty)
                    {
                        return;
                    }

                    writer.Write(line);
                }
            },
            "127.0.0.1",
            0);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await client.SendAllAsync("one\n");
        Assert.That(Loopback.Text(await client.ReceiveExactlyAsync(4).Within()), Is.EqualTo("one\n"));

        await server.ShutdownAsync(TimeSpan.FromSeconds(10)).Within();

        // The handler saw the signal (its read was cancelled), returned, and the server closed the connection gracefully.
        Assert.That(await client.ReceiveToEndAsync().Within(), Is.Empty);
    }

    [Test]
    public async Task NoSubscriber_ConnectionsWaitInTheBacklog_FirstSubscriberGetsThem() // decided: nothing is accepted without an owner
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var early = await Loopback.ConnectRawAsync(server.EndPoints[0]); // the kernel completes the handshake
        await early.SendAllAsync("early");
        Assert.That(server.ConnectionCount, Is.Zero, "not accepted while nobody subscribes");

        var accepted = server.FirstAsync().ToTask();
        await using var connection = await accepted.Within();
        Assert.That(Loopback.Text(await connection.Reader.ReadExactlyAsync(5).Within()), Is.EqualTo("early"));
    }

    [Test]
    public async Task ReadFramesAsync_PullsFramesWithACustomDecoder_ThenIncompleteRead()
    {
        await using var pair = await ClientAndPeer.OpenAsync();
        var (reader, _) = pair.Connection;
        await pair.Peer.SendAllAsync("a\nbb\ncc");
        pair.Peer.Shutdown(SocketShutdown.Send);

        var frames = new List<string>();
        var error = Assert.ThrowsAsync<IncompleteReadException>(async () =>
        {
            await foreach (var frame in reader.ReadFramesAsync(new UntilNewLine()))
            {
                frames.Add(frame);
            }
        });
        Assert.Multiple(() =>
        {
            Assert.That(frames, Is.EqualTo(new[] { "a", "bb" }));
            Assert.That(Loopback.Text(error!.Partial), Is.EqualTo("cc"), "the bytes after the last separator are not lost");
        });
    }

    /// <summary>A user's decoder: lines as strings without the newline; a line cut short by the end is an error.</summary>
    private sealed class UntilNewLine : IFrameDecoder<string>
    {
        public bool TryDecode(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
        {
            int end = buffer.Span.IndexOf((byte)'\n');
            frame = end < 0 ? string.Empty : Loopback.Text(buffer[..end]);
            consumed = end + 1;
            return end >= 0;
        }

        public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
        {
            if (!buffer.IsEmpty)
            {
                throw new IncompleteReadException(buffer, null);
            }

            frame = string.Empty;
            consumed = 0;
            return false;
        }
    }

    [Test]
    public async Task AsyncEnumerableBridges_ProxyWithReadChunksAndWriteAll_InOrderAndBounded() // the IAsyncEnumerable path of issue 3/5
    {
        // source peer -> [a: ReadChunksAsync] -> [b: WriteAllAsync] -> sink peer, written the pull way.
        await using var a = await ClientAndPeer.OpenAsync();
        await using var b = await ClientAndPeer.OpenAsync(peerReceiveBuffer: Loopback.SmallSocketBuffer);
        var payload = Loopback.Pattern(8 * 1024 * 1024);
        var forwarding = b.Writer.WriteAllAsync(a.Reader.ReadChunksAsync());
        var sending = Task.Run(async () =>
        {
            await a.Peer.SendAllAsync(payload);
            a.Peer.Shutdown(SocketShutdown.Send);
        });

        // The sink reads slowly at first: the bridge must wait on drain, so b's buffer stays near its high-water mark.
        long maxBuffered = 0;
        var received = new List<byte>(payload.Length);
        var chunk = new byte[16 * 1024];
        while (received.Count < payload.Length)
        {
            int n = await b.Peer.ReceiveAsync(chunk, SocketFlags.None).Within();
            Assert.That(n, Is.GreaterThan(0), "the sink saw EOF early");
            received.AddRange(chunk.AsSpan(0, n).ToArray());
            maxBuffered = Math.Max(maxBuffered, b.Writer.BufferSize);
        }

        await forwarding.Within();
        await sending.Within();
        Assert.Multiple(() =>
        {
            Assert.That(received.ToArray(), Is.EqualTo(payload), "every byte, in order");
            Assert.That(maxBuffered, Is.LessThanOrEqualTo(b.Writer.HighWaterMark + 64 * 1024), "drain awaited between chunks");
        });
    }
}
