using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Framing;

namespace RxStreams.Tests.Sockets;

/// <summary>asyncio's StreamWriter (reference §1.7, §1.9) over real loopback sockets, including backpressure.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class WriterSocketTests
{
    [Test]
    public async Task WriteThenDrain_PeerReceivesTheBytes()
    {
        await using var pair = await ClientAndPeer.OpenAsync();

        pair.Writer.Write(Loopback.Bytes("hello "));
        pair.Writer.Write(Loopback.Bytes("world").AsMemory());
        pair.Writer.Write(ReadOnlySpan<byte>.Empty); // b'' does nothing
        await pair.Writer.DrainAsync().Within();

        Assert.That(Loopback.Text(await pair.Peer.ReceiveExactlyAsync(11)), Is.EqualTo("hello world"));
        Assert.That(pair.Writer.IsPaused, Is.False);
    }

    [Test]
    public async Task WriteLines_SendsEachChunkInOrder()
    {
        await using var pair = await ClientAndPeer.OpenAsync();

        pair.Writer.WriteLines([Loopback.Bytes("a\n"), Loopback.Bytes("bb\n"), ReadOnlyMemory<byte>.Empty, Loopback.Bytes("ccc\n")]);
        await pair.Writer.DrainAsync().Within();
        pair.Writer.Close();
        await pair.Writer.WaitClosedAsync().Within();

        Assert.That(Loopback.Text(await pair.Peer.ReceiveToEndAsync()), Is.EqualTo("a\nbb\nccc\n"));
    }

    [Test]
    public async Task WriteEof_HalfCloses_PeerReadsEofAndCanStillReply()
    {
        // The peer is an RxStreams server: it reads to EOF, then answers on the half-closed connection.
        var serverSideClosingAfterEof = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                var request = await reader.ReadAsync();
                serverSideClosingAfterEof.TrySetResult(writer.IsClosing);
                writer.Write(Loopback.Bytes("got " + Loopback.Text(request)));
                await writer.DrainAsync();
            },
            "127.0.0.1",
            0);

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        var (reader, writer) = connection;
        Assert.That(writer.CanWriteEof, Is.True, "TCP can half-close");

        writer.Write(Loopback.Bytes("request"));
        writer.WriteEof();
        writer.WriteEof(); // idempotent

        Assert.That(() => writer.Write(Loopback.Bytes("late")), Throws.InvalidOperationException, "write after write_eof");
        Assert.That(writer.IsClosing, Is.False, "write_eof does not close");

        var reply = await reader.ReadAsync().Within();
        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(reply), Is.EqualTo("got request"));
            Assert.That(reader.AtEof, Is.True);
        });
        Assert.That(await serverSideClosingAfterEof.Task.Within(), Is.False, "a peer's FIN does not set is_closing");

        // Both directions are finished: the connection closes by itself.
        await connection.Closed.Within();
        Assert.That(connection.Error, Is.Null);
    }

    [Test]
    public async Task WriteEof_RawPeerSeesEof_AndItsReplyIsRead()
    {
        await using var pair = await ClientAndPeer.OpenAsync();

        pair.Writer.Write(Loopback.Bytes("ping"));
        pair.Writer.WriteEof();

        Assert.That(Loopback.Text(await pair.Peer.ReceiveToEndAsync()), Is.EqualTo("ping"), "the peer reads the data, then EOF");
        await pair.Peer.SendAllAsync("pong");
        pair.Peer.Shutdown(SocketShutdown.Send);

        Assert.That(Loopback.Text(await pair.Reader.ReadAsync().Within()), Is.EqualTo("pong"));
    }

    [Test]
    public async Task Close_FlushesThenCloses_IsClosing_WaitClosed()
    {
        await using var pair = await ClientAndPeer.OpenAsync();
        Assert.That(pair.Writer.IsClosing, Is.False);

        var payload = Loopback.Pattern(200_000);
        pair.Writer.Write(payload);
        pair.Writer.Close();
        Assert.That(pair.Writer.IsClosing, Is.True, "is_closing turns true at close(), before the flush ends");
        pair.Writer.Close(); // idempotent

        var received = await pair.Peer.ReceiveToEndAsync();
        await pair.Writer.WaitClosedAsync().Within();

        Assert.Multiple(() =>
        {
            Assert.That(received.AsSpan().SequenceEqual(payload), Is.True, "close() sends what is buffered first");
            Assert.That(pair.Connection.Closed.IsCompleted, Is.True);
            Assert.That(pair.Connection.Error, Is.Null);
        });

        // Repeated waits give the same outcome at once; the local close looks like EOF to the reader.
        await pair.Writer.WaitClosedAsync().Within();
        Assert.That((await pair.Reader.ReadAsync().Within()).IsEmpty, Is.True);
    }

    [Test]
    public async Task WriteAfterClose_ThrowsInvalidOperation_DrainAfterClose_ThrowsIOException()
    {
        await using var pair = await ClientAndPeer.OpenAsync();
        pair.Writer.Close();

        Assert.That(() => pair.Writer.Write(Loopback.Bytes("x")), Throws.InvalidOperationException);
        Assert.That(() => pair.Writer.WriteLines([Loopback.Bytes("x")]), Throws.InvalidOperationException);
        await pair.Writer.WaitClosedAsync().Within();

        Assert.ThrowsAsync(Is.InstanceOf<IOException>(), async () => await pair.Writer.DrainAsync().Within());
        Assert.That(() => pair.Writer.Write(Loopback.Bytes("x")), Throws.InvalidOperationException);
        Assert.That(pair.Writer.IsClosing, Is.True);
    }

    [Test]
    public async Task PeerReset_WriteDrainAndWaitClosedRaiseTheIOException()
    {
        await using var pair = await ClientAndPeer.OpenAsync();
        pair.Peer.Reset();

        // The reader notices the reset first.
        Assert.ThrowsAsync(Is.InstanceOf<IOException>(), async () => await pair.Reader.ReadAsync().Within());

        Assert.Multiple(() =>
        {
            Assert.That(() => pair.Writer.Write(Loopback.Bytes("x")), Throws.InstanceOf<IOException>(), "write to a lost connection throws");
            Assert.That(async () => await pair.Writer.DrainAsync().Within(), Throws.InstanceOf<IOException>());
            Assert.That(async () => await pair.Writer.WaitClosedAsync().Within(), Throws.InstanceOf<IOException>(), "wait_closed raises the error that ended the connection");
            Assert.That(pair.Writer.IsClosing, Is.True);
        });
    }

    [Test]
    public async Task GetExtraInfo_PeernameSocknameSocket_AndDefault()
    {
        await using var pair = await ClientAndPeer.OpenAsync();
        var writer = pair.Writer;

        var peername = writer.GetExtraInfo("peername");
        var sockname = writer.GetExtraInfo("sockname");

        Assert.Multiple(() =>
        {
            Assert.That(peername, Is.EqualTo(pair.Peer.LocalEndPoint), "peername is the peer's address");
            Assert.That(sockname, Is.EqualTo(pair.Peer.RemoteEndPoint), "sockname is our address");
            Assert.That(((IPEndPoint)sockname!).Address, Is.EqualTo(IPAddress.Loopback));
            Assert.That(writer.RemoteEndPoint, Is.EqualTo(peername));
            Assert.That(writer.LocalEndPoint, Is.EqualTo(sockname));
            Assert.That(writer.GetExtraInfo("socket"), Is.SameAs(writer.Socket).And.InstanceOf<Socket>());
            Assert.That(writer.GetExtraInfo("sslcontext"), Is.Null, "plain TCP has no TLS keys");
            Assert.That(writer.GetExtraInfo("no-such-key", "fallback"), Is.EqualTo("fallback"));
            Assert.That(writer.GetExtraInfo("peercert", 42), Is.EqualTo(42));
        });
    }

    [Test]
    public async Task SetWriteBufferLimits_FollowsAsyncioRules()
    {
        {
            await using var pair = await ClientAndPeer.OpenAsync();
            var writer = pair.Writer;

            Assert.Multiple(() =>
            {
                Assert.That(writer.HighWaterMark, Is.EqualTo(65536));
                Assert.That(writer.LowWaterMark, Is.EqualTo(16384));
            });

            writer.SetWriteBufferLimits(high: 1001);
            Assert.That((writer.HighWaterMark, writer.LowWaterMark), Is.EqualTo((1001, 250)), "only high: low = high // 4");

            writer.SetWriteBufferLimits(low: 100);
            Assert.That((writer.HighWaterMark, writer.LowWaterMark), Is.EqualTo((400, 100)), "only low: high = 4 * low");

            writer.SetWriteBufferLimits(high: 300, low: 300);
            Assert.That((writer.HighWaterMark, writer.LowWaterMark), Is.EqualTo((300, 300)));

            writer.SetWriteBufferLimits(0, 0);
            Assert.That((writer.HighWaterMark, writer.LowWaterMark), Is.EqualTo((0, 0)));

            writer.SetWriteBufferLimits();
            Assert.That((writer.HighWaterMark, writer.LowWaterMark), Is.EqualTo((65536, 16384)), "neither: the defaults");

            Assert.Throws<ArgumentOutOfRangeException>(() => writer.SetWriteBufferLimits(high: 10, low: 20), "high < low");
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.SetWriteBufferLimits(low: -1), "low < 0");
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.SetWriteBufferLimits(high: -4), "high < 0 gives low < 0");
            Assert.That((writer.HighWaterMark, writer.LowWaterMark), Is.EqualTo((65536, 16384)), "a rejected call changes nothing");
        }
    }

    [Test]
    public async Task WaterMarksFromOptions_AreUsed()
    {
        await using var pair = await ClientAndPeer.OpenAsync(new ConnectionOptions { HighWaterMark = 8000 });
        Assert.That((pair.Writer.HighWaterMark, pair.Writer.LowWaterMark), Is.EqualTo((8000, 2000)));

        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Streams.OpenConnectionAsync("127.0.0.1", 1, new ConnectionOptions { HighWaterMark = 10, LowWaterMark = 20 }));
    }

    [Test]
    public async Task Drain_WaitsWhilePeerDoesNotRead_CompletesWhenPeerReadsEverything()
    {
        await using var pair = await ClientAndPeer.OpenAsync(peerReceiveBuffer: Loopback.SmallSocketBuffer);
        pair.Writer.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
        var writer = pair.Writer;

        // Far more than both kernel buffers can hold (each is capped at 2 x 64 KiB by the explicit sizes).
        const int ChunkSize = 256 * 1024;
        const int Chunks = 16;
        var chunk = Loopback.Pattern(ChunkSize, seed: 3);
        for (int i = 0; i < Chunks; i++)
        {
            writer.Write(chunk);
        }

        var drain = writer.DrainAsync();
        Assert.That(writer.IsPaused, Is.True, "4 MiB is far above the 64 KiB high-water mark");

        // Wait until the send loop has pushed all it can into the kernel: the buffer stops shrinking (bounded poll).
        long before = await WaitUntilStableAsync(() => writer.BufferSize);
        TestContext.Out.WriteLine($"writer buffer stalled at {before} bytes");

        Assert.Multiple(() =>
        {
            Assert.That(drain.IsCompleted, Is.False, "drain() waits while the peer does not read");
            Assert.That(before, Is.GreaterThan(writer.HighWaterMark), "the kernel cannot take 4 MiB");
            Assert.That(writer.IsPaused, Is.True);
        });

        // A second, concurrent drain waits too (any number of waiters, pitfall 10).
        var secondDrain = writer.DrainAsync();
        Assert.That(secondDrain.IsCompleted, Is.False);

        // The peer reads everything: both drains complete, and every byte arrives in order.
        var receiving = pair.Peer.ReceiveExactlyAsync(ChunkSize * Chunks);
        await drain.Within();
        await secondDrain.Within();
        var received = await receiving.Within();

        Assert.That(writer.BufferSize, Is.LessThanOrEqualTo(writer.LowWaterMark));
        for (int i = 0; i < Chunks; i++)
        {
            Assert.That(received.AsSpan(i * ChunkSize, ChunkSize).SequenceEqual(chunk), Is.True, $"chunk {i}");
        }
    }

    [Test]
    public async Task BufferSize_ExcludesBytesAlreadyHandedToTheKernel()
    {
        // BufferSize is documented as "bytes written and not yet handed to the operating system" (asyncio's
        // get_write_buffer_size()). Bytes sitting in the peer's receive queue have certainly been handed over.
        await using var pair = await ClientAndPeer.OpenAsync(peerReceiveBuffer: Loopback.SmallSocketBuffer);
        pair.Writer.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
        const int Total = 4 * 1024 * 1024;
        pair.Writer.Write(new byte[Total]);
        var drain = pair.Writer.DrainAsync();

        long stalled = await WaitUntilStableAsync(() => pair.Peer.Available);
        Assert.That(stalled, Is.GreaterThan(0), "the kernel took some of the data");

        Assert.Multiple(() =>
        {
            Assert.That(drain.IsCompleted, Is.False);
            Assert.That(pair.Writer.BufferSize, Is.LessThanOrEqualTo(Total - stalled), "bytes the peer's kernel already holds are no longer buffered by the writer");
        });

        var receiving = pair.Peer.ReceiveExactlyAsync(Total);
        await drain.Within();
        await receiving.Within();
        Assert.That(pair.Writer.BufferSize, Is.Zero);
    }

    [Test]
    public async Task AbortWhileDrainPending_DrainFails()
    {
        await using var pair = await ClientAndPeer.OpenAsync(peerReceiveBuffer: Loopback.SmallSocketBuffer);
        pair.Writer.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
        pair.Writer.Write(new byte[4 * 1024 * 1024]);
        var drain = pair.Writer.DrainAsync();
        Assert.That(drain.IsCompleted, Is.False);

        pair.Writer.Abort();

        // Documented difference from asyncio (pitfall 15): data was thrown away, so the drain fails.
        Assert.That(async () => await drain.Within(), Throws.InstanceOf<IOException>());
        Assert.That(pair.Writer.IsClosing, Is.True);
        await pair.Connection.Closed.Within();
    }

    [Test]
    public async Task EchoChain_ClientStopsReading_ServerStopsReadingToo_BufferBounded()
    {
        await using var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var accepted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var accepting = server.Subscribe(connection =>
        {
            // Small, fixed kernel buffers on the server side too, so the test is about RxStreams's own buffering.
            connection.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
            connection.Socket.ReceiveBufferSize = Loopback.SmallSocketBuffer;
            connection.Reader.Subscribe(connection.Writer); // the echo: reader -> writer, synchronously
            accepted.TrySetResult(connection);
        });

        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0], Loopback.SmallSocketBuffer, Loopback.SmallSocketBuffer);

        // The client sends 16 MiB and, at first, never reads.
        const int Total = 16 * 1024 * 1024;
        const int ChunkSize = 64 * 1024;
        var chunk = Loopback.Pattern(ChunkSize, seed: 11);
        long sent = 0;
        var sending = Task.Run(() => SendRepeatedlyAsync(client, chunk, Total / ChunkSize, n => Interlocked.Add(ref sent, n)));

        var serverWriter = (await accepted.Task.Within()).Writer;

        // Watch until the client's sending stalls (bounded); record the server writer's largest buffer meanwhile.
        long maxServerBuffer = 0;
        long stalledAt = await WaitUntilStableAsync(() =>
        {
            maxServerBuffer = Math.Max(maxServerBuffer, serverWriter.BufferSize);
            return Interlocked.Read(ref sent);
        });
        maxServerBuffer = Math.Max(maxServerBuffer, serverWriter.BufferSize);
        TestContext.Out.WriteLine($"client sends stalled at {stalledAt} bytes; server writer buffer peaked at {maxServerBuffer} bytes");

        Assert.Multiple(() =>
        {
            Assert.That(stalledAt, Is.LessThan(Total), "the server stopped reading, so the client's sends stall");
            // High-water mark (64 KiB) plus at most one received chunk (64 KiB): allow a few hundred KiB for the bound.
            Assert.That(maxServerBuffer, Is.LessThanOrEqualTo(serverWriter.HighWaterMark + (384 * 1024)), "the server's writer buffer stays bounded");
            Assert.That(sending.IsCompleted, Is.False);
        });

        // Now the client reads: everything it sent comes back, in order, and the chain ends cleanly.
        var receiving = Task.Run(() => client.ReceiveToEndAsync());
        await sending.Within();
        client.Shutdown(SocketShutdown.Send);
        var echoed = await receiving.Within();

        Assert.That(echoed.LongLength, Is.EqualTo((long)Total), "every byte sent is echoed once the client reads");
        for (int offset = 0; offset < Total; offset += ChunkSize)
        {
            if (!echoed.AsSpan(offset, ChunkSize).SequenceEqual(chunk))
            {
                Assert.Fail($"echo differs in the chunk at offset {offset}");
            }
        }
    }

    [Test]
    public async Task LinesEchoChain_FramingOperatorInTheChain_AlsoBounded()
    {
        await using var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var accepted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var accepting = server.Subscribe(connection =>
        {
            connection.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
            connection.Socket.ReceiveBufferSize = Loopback.SmallSocketBuffer;
            connection.Reader.Lines().Subscribe(connection.Writer);
            accepted.TrySetResult(connection);
        });

        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0], Loopback.SmallSocketBuffer, Loopback.SmallSocketBuffer);
        var line = Loopback.Bytes(new string('L', 1000) + "\n");
        var block = Enumerable.Repeat(line, 64).SelectMany(b => b).ToArray();
        const int Blocks = 256; // 16 MB
        long sent = 0;
        var sending = Task.Run(() => SendRepeatedlyAsync(client, block, Blocks, n => Interlocked.Add(ref sent, n)));

        var serverWriter = (await accepted.Task.Within()).Writer;
        long maxServerBuffer = 0;
        long stalledAt = await WaitUntilStableAsync(() =>
        {
            maxServerBuffer = Math.Max(maxServerBuffer, serverWriter.BufferSize);
            return Interlocked.Read(ref sent);
        });
        TestContext.Out.WriteLine($"client sends stalled at {stalledAt} bytes; server writer buffer peaked at {maxServerBuffer} bytes");

        Assert.Multiple(() =>
        {
            Assert.That(stalledAt, Is.LessThan((long)Blocks * block.Length));
            Assert.That(maxServerBuffer, Is.LessThanOrEqualTo(serverWriter.HighWaterMark + (384 * 1024)));
        });

        var receiving = Task.Run(() => client.ReceiveToEndAsync());
        await sending.Within();
        client.Shutdown(SocketShutdown.Send);
        var echoed = await receiving.Within();
        Assert.That(echoed.LongLength, Is.EqualTo((long)Blocks * block.Length));
    }

    private static async Task SendRepeatedlyAsync(Socket socket, byte[] data, int times, Action<int> onSent)
    {
        for (int i = 0; i < times; i++)
        {
            var remaining = data.AsMemory();
            while (!remaining.IsEmpty)
            {
                // No timeout here: these sends are expected to stall while the other side applies backpressure.
                int n = await socket.SendAsync(remaining, SocketFlags.None);
                remaining = remaining[n..];
                onSent(n);
            }
        }
    }

    /// <summary>
    /// Polls <paramref name="sample"/> until it has not changed for 15 consecutive samples 20 ms apart (300 ms), at
    /// most for <see cref="Loopback.Timeout"/>. Used only to observe that a transfer has stalled; every assertion made
    /// afterwards holds whether or not the stall was detected early.
    /// </summary>
    private static async Task<long> WaitUntilStableAsync(Func<long> sample)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        long last = sample();
        int unchanged = 0;
        while (unchanged < 15 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            long now = sample();
            unchanged = now == last ? unchanged + 1 : 0;
            last = now;
        }

        return last;
    }
}
