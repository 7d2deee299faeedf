using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Microsoft.Reactive.Testing;
using NUnit.Framework;

namespace RxStreams.Tests.Sockets;

/// <summary>asyncio's <c>start_server</c> and <c>Server</c> (reference §1.2, §1.8, pitfalls 1–6) over real loopback sockets.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class ServerSocketTests
{
    /// <summary>A line echo handler: echoes each line until EOF (then the library closes the connection).</summary>
    private static async Task EchoLines(ConnectionReader reader, ConnectionWriter writer)
    {
        await foreach (var line in reader)
        {
            writer.Write(line);
            await writer.DrainAsync();
        }
    }

    private static async Task<string> RoundTripAsync(ConnectionReader reader, ConnectionWriter writer, string line)
    {
        writer.Write(Loopback.Bytes(line));
        return Loopback.Text(await reader.ReadLineAsync().Within());
    }

    [Test]
    public async Task PortZero_EndpointIsReadable_IsServing()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);

        var endPoint = (IPEndPoint)server.EndPoints.Single();
        Assert.Multiple(() =>
        {
            Assert.That(endPoint.Address, Is.EqualTo(IPAddress.Loopback));
            Assert.That(endPoint.Port, Is.Not.Zero, "port 0 picks a free port, readable from EndPoints");
            Assert.That(server.IsServing, Is.True);
            Assert.That(server.Sockets, Has.Count.EqualTo(1));
        });

        // Something is really listening there (accepting waits for a subscriber; the OS backlog takes the connect).
        using var client = await Loopback.ConnectRawAsync(endPoint);
        Assert.That(client.Connected, Is.True);
    }

    [TestCase("127.0.0.1")]
    [TestCase("::1")]
    public async Task HandlerEcho_OverIPv4AndIPv6(string host)
    {
        if (host == "::1")
        {
            Assume.That(Loopback.IPv6LoopbackAvailable(), Is.True, "IPv6 loopback is not available on this machine");
        }

        var server = await Streams.StartServerAsync(EchoLines, host, 0);
        await using var guard = Loopback.Guard(server);
        var endPoint = (IPEndPoint)server.EndPoints.Single();
        Assert.That(endPoint.Address, Is.EqualTo(IPAddress.Parse(host)));

        await using var connection = await Streams.OpenConnectionAsync(host, endPoint.Port).Within();
        var (reader, writer) = connection;

        Assert.That(await RoundTripAsync(reader, writer, "ping\n"), Is.EqualTo("ping\n"));
        Assert.That(await RoundTripAsync(reader, writer, "pong\n"), Is.EqualTo("pong\n"));
        Assert.That(writer.GetExtraInfo("peername"), Is.EqualTo(endPoint));
    }

    [Test]
    public async Task SeedHandleEcho_InCSharp_EchoesAndCloses()
    {
        var text = new StringWriter();
        var log = TextWriter.Synchronized(text);
        var server = await Streams.StartServerAsync(SeedPrograms.HandleEcho(log), "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        var (reader, writer) = connection;
        writer.Write(Loopback.Bytes("Hello World!"));

        var data = await reader.ReadAsync(100).Within();
        var rest = await reader.ReadAsync().Within();

        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(data), Is.EqualTo("Hello World!"));
            Assert.That(rest.IsEmpty, Is.True, "handle_echo closes the connection after echoing");
            Assert.That(SeedPrograms.Lines(text.ToString()), Is.EqualTo(new[]
            {
                $"Received 'Hello World!' from ('127.0.0.1', {((IPEndPoint)writer.LocalEndPoint!).Port})",
                "Send: 'Hello World!'",
                "Close the connection",
            }));
        });
    }

    [Test]
    public async Task HandlerThrows_ThatConnectionCloses_ErrorOnErrors_ServerKeepsAccepting()
    {
        var boom = new InvalidOperationException("handler failed on purpose");
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                var line = await reader.ReadLineAsync();
                if (Loopback.Text(line) == "boom\n")
                {
                    throw boom;
                }

                writer.Write(line);
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);
        var firstError = server.Errors.FirstAsync().ToTask();

        await using (var failing = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within())
        {
            failing.Writer.Write(Loopback.Bytes("boom\n"));

            // The failed handler's connection goes down (it is aborted: a reset, or at least the end of the input).
            try
            {
                var after = await failing.Reader.ReadAsync().Within();
                Assert.That(after.IsEmpty, Is.True, "nothing is sent on a failed handler's connection");
            }
            catch (IOException)
            {
                // reset by the server: expected
            }

            Assert.That(await firstError.Within(), Is.SameAs(boom), "the handler's exception shows on Errors");
        }

        Assert.That(server.IsServing, Is.True, "a failing handler never closes the server");
        await using var healthy = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        healthy.Writer.Write(Loopback.Bytes("fine\n"));
        Assert.That(Loopback.Text(await healthy.Reader.ReadAsync().Within()), Is.EqualTo("fine\n"));
    }

    [Test]
    public async Task SubscriberOnNextThrows_ConnectionAborted_ErrorReported_AcceptingGoesOn()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var firstError = server.Errors.FirstAsync().ToTask();
        int calls = 0;
        var second = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = server.Subscribe(connection =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("subscriber failed");
            }

            second.TrySetResult(connection);
        });

        Socket? first = null;
        try
        {
            first = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        }
        catch (SocketException reset) when (reset.SocketErrorCode == SocketError.ConnectionReset)
        {
            // The server accepted and aborted it before the connect's completion was even observed: fine.
        }

        using (first)
        {
            Assert.That((await firstError.Within()).Message, Is.EqualTo("subscriber failed"));
            try
            {
                Assert.That(first is null || (await first.ReceiveToEndAsync()).Length == 0, Is.True, "the first connection is ended, it does not hang");
            }
            catch (SocketException reset)
            {
                Assert.That(reset.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset), "aborted: a reset");
            }
        }

        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        var connection = await second.Task.Within();
        await using (connection)
        {
            Assert.That(connection.RemoteEndPoint, Is.EqualTo(client.LocalEndPoint));
        }
    }

    [Test]
    public async Task Close_StopsListening_NewConnectRefused_ExistingConnectionStillWorks()
    {
        var server = await Streams.StartServerAsync(EchoLines, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        int port = server.Port();

        await using var existing = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
        var (reader, writer) = existing;
        Assert.That(await RoundTripAsync(reader, writer, "before\n"), Is.EqualTo("before\n"));

        server.Close();
        server.Close(); // idempotent

        Assert.Multiple(() =>
        {
            Assert.That(server.IsServing, Is.False);
            Assert.That(server.Sockets, Is.Empty);
            Assert.That(server.EndPoints, Has.Count.EqualTo(1), "the endpoints stay readable after close");
        });

        var refused = Assert.ThrowsAsync<SocketException>(async () => await Streams.OpenConnectionAsync("127.0.0.1", port).Within());
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));

        Assert.That(await RoundTripAsync(reader, writer, "after\n"), Is.EqualTo("after\n"), "close() leaves accepted connections alone");
    }

    [Test]
    public async Task WaitClosed_CompletesOnlyAfterConnectionsClose()
    {
        var server = await Streams.StartServerAsync(EchoLines, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);

        var beforeClose = server.WaitClosedAsync();
        var connection = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        Assert.That(await RoundTripAsync(connection.Reader, connection.Writer, "hi\n"), Is.EqualTo("hi\n"));

        server.Close();
        var afterClose = server.WaitClosedAsync();
        Assert.Multiple(() =>
        {
            Assert.That(beforeClose.IsCompleted, Is.False, "a connection is still open");
            Assert.That(afterClose.IsCompleted, Is.False, "a connection is still open");
        });

        // The client leaves: the handler sees EOF and returns, its connection closes, and the server is done.
        await connection.DisposeAsync();
        await beforeClose.Within();
        await afterClose.Within();
        Assert.That(server.ConnectionCount, Is.Zero);
        await server.WaitClosedAsync().Within();
    }

    [Test]
    public async Task WaitClosed_WithNoConnections_WaitsForClose()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);

        var waiting = server.WaitClosedAsync();
        Assert.That(waiting.IsCompleted, Is.False, "3.12.1+: wait_closed blocks until close()");

        server.Close();
        await waiting.Within();
    }

    [Test]
    public async Task DisposeAsync_ClosesAndWaitsForConnections_Idempotent()
    {
        var server = await Streams.StartServerAsync(EchoLines, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var connection = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        Assert.That(await RoundTripAsync(connection.Reader, connection.Writer, "x\n"), Is.EqualTo("x\n"));

        var disposing = server.DisposeAsync().AsTask();
        Assert.That(server.IsServing, Is.False, "DisposeAsync closes at once");
        Assert.That(disposing.IsCompleted, Is.False, "and then waits for the open connection");

        connection.Writer.WriteEof(); // the handler's loop ends; the connection finishes in both directions
        Assert.That((await connection.Reader.ReadAsync().Within()).IsEmpty, Is.True);
        await disposing.Within();
        await connection.DisposeAsync().AsTask().Within();

        await server.DisposeAsync().AsTask().Within(); // idempotent
    }

    [Test]
    public async Task DisposeAsync_WithNoConnections_CompletesAtOnce()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await server.DisposeAsync().AsTask().Within();

        Assert.That(server.IsServing, Is.False);
        var late = await server.ToList().ToTask().Within();
        Assert.That(late, Is.Empty, "a subscriber after close completes at once");
    }

    [Test]
    public async Task TwoSubscribers_EachSeesEveryConnection()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var gotA = new List<StreamConnection>();
        var gotB = new List<StreamConnection>();
        var delivered = new SemaphoreSlim(0);
        using var a = server.Subscribe(c => { lock (gotA) { gotA.Add(c); } delivered.Release(); });
        using var b = server.Subscribe(c => { lock (gotB) { gotB.Add(c); } delivered.Release(); });

        const int Count = 8;
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < Count; i++)
            {
                clients.Add(await Loopback.ConnectRawAsync(server.EndPoints[0]));
                Assert.That(await delivered.WaitAsync(Loopback.Timeout), Is.True, $"connection {i} was delivered");
                Assert.That(await delivered.WaitAsync(Loopback.Timeout), Is.True, $"connection {i} was delivered twice");
            }

            Assert.Multiple(() =>
            {
                Assert.That(gotA, Is.EquivalentTo(gotB), "both subscribers see the same connections (multicast)");
                Assert.That(gotA.Select(c => c.RemoteEndPoint), Is.EquivalentTo(clients.Select(c => c.LocalEndPoint)));
            });
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            foreach (var connection in gotA)
            {
                connection.Abort();
            }
        }
    }

    [Test]
    public async Task ServerCompletesSubscribersOnClose()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var completed = server.LastOrDefaultAsync().ToTask();

        server.Close();

        Assert.That(await completed.Within(), Is.Null, "OnCompleted, no connection");
    }

    [Test]
    public async Task ShutdownAsync_GracePeriodInVirtualTime_AbortsClientThatCannotFinish()
    {
        var scheduler = new TestScheduler();
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Scheduler = scheduler });
        var accepted = new List<StreamConnection>();
        var delivered = new SemaphoreSlim(0);
        // Every connection honours the shutdown signal by closing gracefully (flush, then FIN).
        using var subscription = server.Subscribe(c =>
        {
            c.CloseRequested.Register(c.Writer.Close);
            lock (accepted)
            {
                accepted.Add(c);
            }

            delivered.Release();
        });

        // An idle client (nothing buffered for it) and a stuck one (4 MiB buffered for it, and it never reads).
        using var idle = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        Assert.That(await delivered.WaitAsync(Loopback.Timeout), Is.True);
        using var stuck = await Loopback.ConnectRawAsync(server.EndPoints[0], receiveBuffer: Loopback.SmallSocketBuffer);
        Assert.That(await delivered.WaitAsync(Loopback.Timeout), Is.True);
        var stuckConnection = accepted.Single(c => c.RemoteEndPoint!.Equals(stuck.LocalEndPoint));
        stuckConnection.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
        stuckConnection.Writer.Write(new byte[4 * 1024 * 1024]);

        var shutdown = server.ShutdownAsync(TimeSpan.FromSeconds(5));

        // The shutdown signals CloseRequested; the idle connection's close completes at once: its client reads EOF.
        Assert.That(await idle.ReceiveToEndAsync(), Is.Empty);
        Assert.That(shutdown.IsCompleted, Is.False, "the stuck client cannot take 4 MiB, and the grace period has not passed");
        Assert.That(server.IsServing, Is.False);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);
        await shutdown.Within();

        Assert.Multiple(() =>
        {
            Assert.That(server.ConnectionCount, Is.Zero);
            Assert.That(stuckConnection.Closed.IsCompleted, Is.True);
        });

        // The stuck client was aborted, not closed: after whatever reached it, it gets a reset.
        var reset = Assert.ThrowsAsync<SocketException>(async () => await stuck.ReceiveToEndAsync());
        Assert.That(reset!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
        await server.WaitClosedAsync().Within();
    }

    [Test]
    public async Task ShutdownAsync_RealTime_HandlerWaitingForALine_EndsWithinGrace()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerSawEnd = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                started.TrySetResult();
                try
                {
                    // An idle client: the handler waits for a line that never comes.
                    handlerSawEnd.TrySetResult(Loopback.Text(await reader.ReadLineAsync()));
                }
                catch (Exception error)
                {
                    handlerSawEnd.TrySetException(error);
                    throw;
                }
            },
            "127.0.0.1",
            0);

        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await client.SendAllAsync("partial line without newline");
        await started.Task.Within();

        await server.ShutdownAsync(TimeSpan.FromMilliseconds(200)).Within();

        Assert.That(server.ConnectionCount, Is.Zero);
        // The local close ends the handler's pending read like an EOF: it returns what was buffered of the line (or b'').
        Assert.That(await handlerSawEnd.Task.Within(), Is.EqualTo("partial line without newline").Or.Empty);
        try
        {
            Assert.That(await client.ReceiveToEndAsync(), Is.Empty, "closed: the client reads EOF");
        }
        catch (SocketException reset)
        {
            // Closing a socket with unread input sends a reset instead of a FIN: also an end, never a hang.
            Assert.That(reset.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
        }
    }
}
