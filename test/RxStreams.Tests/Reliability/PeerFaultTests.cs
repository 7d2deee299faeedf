using System.Buffers.Binary;
using System.Net.Sockets;
using System.Reactive.Linq;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary>
/// What the network does to a server: resets in the middle of a frame, resets while our writer holds data, peers that
/// go quiet (half-open), and the server's own listening socket closed under it.
/// </summary>
public class PeerFaultTests
{
    private static async Task<(StreamServer Server, IAsyncDisposable Guard, Socket Client, StreamConnection Connection)> AcceptOneAsync(ServerOptions? options = null)
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, options).Within();
        var accepted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = server.Subscribe(c => accepted.TrySetResult(c));
        var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        var connection = await accepted.Task.Within();
        _ = subscription; // completed when the server closes
        return (server, AbortOnDispose(server), client, connection);
    }

    [Test]
    public async Task ResetMidLine_Push_CompleteLinesThenIncompleteReadWithTheCutBytes()
    {
        var (_, guard, client, connection) = await AcceptOneAsync();
        await using var _ = guard;
        using var __ = client;
        var lines = new List<string>();
        var twoLines = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var end = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = connection.Reader.Lines().Subscribe(
            l =>
            {
                lines.Add(Loopback.Text(l));
                if (lines.Count == 2)
                {
                    twoLines.TrySetResult();
                }
            },
            e => end.TrySetResult(e),
            () => end.TrySetResult(null));

        await client.SendAllAsync("one\ntwo\nthr"); // one segment: the cut line is received with the two before it
        await twoLines.Task.Within();
        client.Reset();

        var error = await end.Task.Within();
        Assert.That(lines, Is.EqualTo(new[] { "one\n", "two\n" }), "complete frames are OnNext");
        Assert.That(error, Is.InstanceOf<IncompleteReadException>(), "the cut frame is an IncompleteReadException");
        Assert.That(Loopback.Text(((IncompleteReadException)error!).Partial), Is.EqualTo("thr"), "with its bytes");
        Assert.That(error.InnerException, Is.InstanceOf<IOException>(), "and the reset as its cause");
        Assert.That(IsResetLike(error.InnerException), Is.True, error.InnerException?.ToString());
        await connection.Closed.Within();
        Assert.That(connection.Error, Is.InstanceOf<IOException>());
    }

    [Test]
    public async Task ResetMidLengthPrefixedFrame_Push_ExpectedIsTheWholeFrame()
    {
        var (_, guard, client, connection) = await AcceptOneAsync();
        await using var _ = guard;
        using var __ = client;
        var frames = new List<string>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var end = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = connection.Reader.LengthPrefixed().Subscribe(
            f => { frames.Add(Loopback.Text(f)); first.TrySetResult(); }, e => end.TrySetResult(e), () => end.TrySetResult(null));

        var wire = new byte[4 + 5 + 4 + 3];
        BinaryPrimitives.WriteInt32BigEndian(wire, 5);
        "hello"u8.CopyTo(wire.AsSpan(4));
        BinaryPrimitives.WriteInt32BigEndian(wire.AsSpan(9), 10); // announces 10 bytes, 3 come
        "abc"u8.CopyTo(wire.AsSpan(13));
        await client.SendAllAsync(wire);
        await first.Task.Within();
        client.Reset();

        var error = await end.Task.Within() as IncompleteReadException;
        Assert.That(frames, Is.EqualTo(new[] { "hello" }));
        Assert.That(error, Is.Not.Null);
        Assert.That(error!.Partial.ToArray(), Is.EqualTo(wire[9..]), "the header and the 3 body bytes that came");
        Assert.That(error.Expected, Is.EqualTo(14), "the whole frame the header announced");
        Assert.That(error.InnerException, Is.InstanceOf<IOException>());
    }

    [Test]
    public async Task ResetMidExactly_Pull_FramesThenIncompleteReadThenTheIOException()
    {
        var (_, guard, client, connection) = await AcceptOneAsync();
        await using var _ = guard;
        using var __ = client;
        await client.SendAllAsync("AAAABBBBCC");
        var reader = connection.Reader;
        Assert.That(Loopback.Text(await reader.ReadExactlyAsync(4).Within()), Is.EqualTo("AAAA"));
        Assert.That(Loopback.Text(await reader.ReadExactlyAsync(4).Within()), Is.EqualTo("BBBB"));
        await WaitUntilAsync(() => reader.BufferedLength == 2, "the last two bytes are buffered");
        client.Reset();

        var cut = Assert.ThrowsAsync<IncompleteReadException>(async () => await reader.ReadExactlyAsync(4).Within());
        Assert.That(Loopback.Text(cut!.Partial), Is.EqualTo("CC"));
        Assert.That(cut.Expected, Is.EqualTo(4));
        Assert.That(cut.InnerException, Is.InstanceOf<IOException>());
        Assert.That(async () => await reader.ReadLineAsync().Within(), Throws.InstanceOf<IOException>().And.Not.InstanceOf<IncompleteReadException>(),
            "then reads raise the reset itself");
    }

    [Test]
    public async Task ResetWhileTheWriterHoldsBufferedData_DrainAndWaitClosedRaiseTheIOException()
    {
        // Small kernel buffers on both ends so the writer's own buffer fills; the peer never reads, then resets.
        var server = await Streams.StartServerAsync("127.0.0.1", 0).Within();
        await using var guard = AbortOnDispose(server);
        var accepted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = server.Subscribe(c => accepted.TrySetResult(c));
        var client = await Loopback.ConnectRawAsync(server.EndPoints[0], receiveBuffer: 4096);
        var connection = await accepted.Task.Within();
        connection.Socket!.SendBufferSize = 4096;
        var writer = connection.Writer;

        var chunk = Loopback.Pattern(64 * 1024);
        for (int i = 0; i < 64 && writer.BufferSize < 1024 * 1024; i++)
        {
            writer.Write(chunk);
        }

        var drains = Enumerable.Range(0, 3).Select(_ => writer.DrainAsync().AsTask()).ToArray();
        var closed = writer.WaitClosedAsync();
        await WaitUntilAsync(() => writer.BufferSize > writer.HighWaterMark, "the writer holds data the peer does not take");
        Assert.That(drains.Any(d => d.IsCompleted), Is.False, "drain waits while the buffer is above the high-water mark");

        client.Reset();
        foreach (var drain in drains)
        {
            var error = Assert.ThrowsAsync(Is.InstanceOf<IOException>(), async () => await drain.Within());
            Assert.That(IsResetLike(error), Is.True, error?.ToString());
        }

        Assert.That(async () => await closed.Within(), Throws.InstanceOf<IOException>(), "wait_closed raises it too, never hangs");
        Assert.That(() => writer.Write(chunk), Throws.InstanceOf<IOException>(), "a later write is refused with it");
        Assert.That(writer.BufferSize, Is.Zero, "what could not be sent is released");
    }

    [Test]
    public async Task GracefulCloseWhileTheWriterHoldsData_PeerThatNeverReadsThenResets_CloseEndsWithTheError()
    {
        var (_, guard, client, connection) = await AcceptOneAsync();
        await using var _ = guard;
        client.ReceiveBufferSize = 4096;
        connection.Socket!.SendBufferSize = 4096;
        var writer = connection.Writer;
        var chunk = Loopback.Pattern(256 * 1024);
        writer.Write(chunk);
        writer.Write(chunk);
        writer.Close(); // asyncio: close() flushes first; the flush cannot finish
        var closed = writer.WaitClosedAsync();
        await WaitUntilAsync(() => writer.BufferSize > 0 && writer.IsClosing, "closing with data still buffered");
        Assert.That(closed.IsCompleted, Is.False);

        client.Reset();
        Assert.That(async () => await closed.Within(), Throws.InstanceOf<IOException>());
        await connection.DisposeAsync().AsTask().Within(); // and disposing after that neither throws nor hangs
    }

    [Test]
    public async Task HalfOpen_PeerGoneWithoutFin_TheIdleTimeoutFindsIt_KeepAliveIsSetOnAcceptedSockets()
    {
        // A vanished peer (no FIN, no RST) is indistinguishable from a silent one until something is sent or a
        // keep-alive probe goes unanswered. The library offers both defences: IdleTimeout (application level, exact)
        // and KeepAlive (TCP level, on the OS's timers). Loopback cannot lose a peer, so the silent one stands in for it.
        var options = new ServerOptions { IdleTimeout = TimeSpan.FromMilliseconds(250), KeepAlive = true };
        var (_, guard, client, connection) = await AcceptOneAsync(options);
        await using var _ = guard;
        using var __ = client;
        Assert.That(connection.Socket!.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive), Is.Not.EqualTo(0), "SO_KEEPALIVE");

        var read = connection.Reader.ReadAsync(10).AsTask();
        Assert.That(async () => await read.Within(), Throws.InstanceOf<TimeoutException>());
        await connection.Closed.Within();
    }

    [Test]
    public async Task ListeningSocketClosedUnderTheServer_ItStopsServing_ReportsIt_AndOpenConnectionsGoOn()
    {
        var server = await Streams.StartServerAsync(async (reader, writer) =>
        {
            await foreach (var line in reader)
            {
                writer.Write(line);
            }
        }, "127.0.0.1", 0).Within();
        await using var guard = AbortOnDispose(server);
        var errors = new List<Exception>();
        using var log = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });
        var (reader, writer) = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        writer.Write(Loopback.Bytes("before\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("before\n"));
        var serving = server.ServeForeverAsync();

        server.Sockets[0].Dispose(); // someone closes the listening socket under the server

        var lost = Assert.ThrowsAsync<IOException>(async () => await serving.Within(), "serve_forever ends with the failure instead of serving nothing forever");
        Assert.That(server.IsServing, Is.False);
        lock (errors)
        {
            Assert.That(errors.OfType<IOException>().Count(), Is.EqualTo(1), "reported once on Errors: " + string.Join("; ", errors));
        }

        writer.Write(Loopback.Bytes("after\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("after\n"), "accepted connections are not affected");
        writer.Close();
        await writer.WaitClosedAsync().Within();
        await server.WaitClosedAsync().Within();
        Assert.That(lost!.Message, Does.Contain("listening"));
    }

    [Test]
    public async Task ListeningSocketShutDownUnderTheServer_NoBusyLoop_ItStopsServing()
    {
        // shutdown(2) on a listening socket makes every accept fail at once (EINVAL): retrying would spin a core forever.
        var server = await Streams.StartServerAsync("127.0.0.1", 0).Within();
        await using var guard = AbortOnDispose(server);
        int errors = 0;
        using var log = server.Errors.Subscribe(_ => Interlocked.Increment(ref errors));
        var completed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = server.Subscribe(_ => { }, e => completed.TrySetResult(e), () => completed.TrySetResult(null));
        var serving = server.ServeForeverAsync();

        server.Sockets[0].Shutdown(SocketShutdown.Both);

        Assert.That(async () => await serving.Within(), Throws.InstanceOf<IOException>());
        Assert.That(await completed.Task.Within(), Is.InstanceOf<IOException>(), "subscribers learn why accepting stopped");
        Assert.That(Volatile.Read(ref errors), Is.EqualTo(1), "one report, not one per failed accept");
    }
}
