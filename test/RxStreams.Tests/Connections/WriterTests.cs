using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Connections;

/// <summary>asyncio's StreamWriter (reference §1.7, §1.9) on every transport (<see cref="TransportKind"/>), including backpressure.</summary>
[TestFixture(TransportKind.Tcp)]
[TestFixture(TransportKind.Unix)]
[TestFixture(TransportKind.InMemory)]
[TestFixture(TransportKind.Tls)]
[CancelAfter(30_000)]
public class WriterTests(TransportKind transport)
{
    [Test]
    public async Task WriteThenDrain_PeerReceivesTheBytes()
    {
        await using var pair = await TransportKit.OpenAsync(transport);

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
        await using var pair = await TransportKit.OpenAsync(transport);

        pair.Writer.WriteLines([Loopback.Bytes("a\n"), Loopback.Bytes("bb\n"), ReadOnlyMemory<byte>.Empty, Loopback.Bytes("ccc\n")]);
        await pair.Writer.DrainAsync().Within();
        pair.Writer.Close();
        await pair.Writer.WaitClosedAsync().Within();

        Assert.That(Loopback.Text(await pair.Peer.ReceiveToEndAsync()), Is.EqualTo("a\nbb\nccc\n"));
    }

    [Test]
    public async Task WriteEof_HalfCloses_PeerReadsEofAndCanStillReply()
    {
        // The peer is RxStreams too (a server's connection, or the in-memory pair's other end): it reads to EOF, then
        // answers on the half-closed connection.
        await using var pair = await TransportKit.OpenLibraryPairAsync(transport);
        var serverSide = pair.Server;
        var serving = Task.Run(async () =>
        {
            var request = await serverSide.Reader.ReadAsync();
            bool closingAfterEof = serverSide.Writer.IsClosing;
            serverSide.Writer.Write(Loopback.Bytes("got " + Loopback.Text(request)));
            await serverSide.Writer.DrainAsync();
            serverSide.Writer.Close();
            return closingAfterEof;
        });

        var (reader, writer) = pair.Client;
        Assert.That(writer.CanWriteEof, Is.True, "every transport can half-close (TLS: close_notify, then FIN)");

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
        Assert.That(await serving.Within(), Is.False, "a peer's FIN does not set is_closing");

        // Both directions are finished: the connection closes by itself.
        await pair.Client.Closed.Within();
        Assert.That(pair.Client.Error, Is.Null);
    }

    [Test]
    public async Task WriteEof_RawPeerSeesEof_AndItsReplyIsRead()
    {
        await using var pair = await TransportKit.OpenAsync(transport);

        pair.Writer.Write(Loopback.Bytes("ping"));
        pair.Writer.WriteEof();

        Assert.That(Loopback.Text(await pair.Peer.ReceiveToEndAsync()), Is.EqualTo("ping"), "the peer reads the data, then EOF");
        await pair.Peer.SendAllAsync("pong");
        await pair.Peer.ShutdownSendAsync();

        Assert.That(Loopback.Text(await pair.Reader.ReadAsync().Within()), Is.EqualTo("pong"));
    }

    [Test]
    public async Task Close_FlushesThenCloses_IsClosing_WaitClosed()
    {
        // On TLS the peer's post-handshake session tickets sit unread in our socket: the lingering close reads and
        // discards them, so the close stays graceful (a plain close would reset and lose the tail of the 200 KB).
        await using var pair = await TransportKit.OpenAsync(transport);
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
        await using var pair = await TransportKit.OpenAsync(transport);
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
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.ResetPeerAsync();

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
        await using var pair = await TransportKit.OpenAsync(transport);
        var writer = pair.Writer;

        var peername = writer.GetExtraInfo("peername");
        var sockname = writer.GetExtraInfo("sockname");

        Assert.Multiple(() =>
        {
            Assert.That(writer.RemoteEndPoint, Is.EqualTo(peername));
            Assert.That(writer.LocalEndPoint, Is.EqualTo(sockname));
            Assert.That(writer.GetExtraInfo("no-such-key", "fallback"), Is.EqualTo("fallback"));
        });

        // The endpoint types, the socket and the TLS keys are what differs by transport.
        switch (transport)
        {
            case TransportKind.Tcp or TransportKind.Tls:
                Assert.Multiple(() =>
                {
                    Assert.That(peername, Is.EqualTo(pair.Peer.LocalEndPoint), "peername is the peer's address");
                    Assert.That(sockname, Is.EqualTo(pair.Peer.RemoteEndPoint), "sockname is our address");
                    Assert.That(((IPEndPoint)sockname!).Address, Is.EqualTo(IPAddress.Loopback));
                });
                break;
            case TransportKind.Unix:
                // The listener's path; the client socket is unbound, so asyncio's sockname is '' (an unnamed endpoint).
                Assert.That(peername?.ToString(), Is.EqualTo(pair.Peer.LocalEndPoint!.ToString()), "peername is the server's path");
                Assert.That(sockname, Is.Null.Or.InstanceOf<UnixDomainSocketEndPoint>());
                break;
            case TransportKind.InMemory:
                Assert.That(peername, Is.EqualTo(new InMemoryEndPoint("server")));
                Assert.That(sockname, Is.EqualTo(new InMemoryEndPoint("client")));
                break;
        }

        if (transport == TransportKind.InMemory)
        {
            Assert.That(writer.GetExtraInfo("socket"), Is.Null, "an in-memory connection has no socket");
        }
        else
        {
            Assert.That(writer.GetExtraInfo("socket"), Is.SameAs(writer.Socket).And.InstanceOf<Socket>());
        }

        if (transport == TransportKind.Tls)
        {
            Assert.That(writer.GetExtraInfo("sslcontext"), Is.Not.Null, "TLS has the TLS keys");
            Assert.That(writer.GetExtraInfo("peercert"), Is.Not.Null, "the server's certificate");
        }
        else
        {
            Assert.That(writer.GetExtraInfo("sslcontext"), Is.Null, "no TLS, no TLS keys");
            Assert.That(writer.GetExtraInfo("peercert", 42), Is.EqualTo(42));
        }
    }

    [Test]
    public async Task SetWriteBufferLimits_FollowsAsyncioRules()
    {
        {
            await using var pair = await TransportKit.OpenAsync(transport);
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
        await using var pair = await TransportKit.OpenAsync(transport, new ConnectionOptions { HighWaterMark = 8000 });
        Assert.That((pair.Writer.HighWaterMark, pair.Writer.LowWaterMark), Is.EqualTo((8000, 2000)));

        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            TransportKit.OpenAsync(transport, new ConnectionOptions { HighWaterMark = 10, LowWaterMark = 20 }));
    }

    [Test]
    public async Task Drain_WaitsWhilePeerDoesNotRead_CompletesWhenPeerReadsEverything()
    {
        await using var pair = await TransportKit.OpenAsync(transport, smallBuffers: true);
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
        // get_write_buffer_size()). Bytes sitting in the peer's receive queue have certainly been handed over. On TLS
        // the writer counts plaintext record by record as each record's ciphertext reaches the socket.

        await using var pair = await TransportKit.OpenAsync(transport, smallBuffers: true);
        const int Total = 4 * 1024 * 1024;
        pair.Writer.Write(new byte[Total]);
        var drain = pair.Writer.DrainAsync().AsTask();
        _ = drain.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed even if an assertion fails first

        // What certainly left the writer: the peer's kernel receive queue on a socket (TLS: ciphertext, slightly more than
        // the plaintext it carries, more than made up for by our own kernel's send queue); in memory, the pipe, which
        // holds exactly its transfer capacity once the peer stops reading (the peer cannot see it, so the writer's
        // buffer is watched until it stops shrinking).
        long stalled;
        if (transport == TransportKind.InMemory)
        {
            await WaitUntilStableAsync(() => pair.Writer.BufferSize);
            stalled = Loopback.SmallSocketBuffer;
        }
        else
        {
            stalled = await WaitUntilStableAsync(() => pair.Peer.Socket!.Available);
        }

        Assert.That(stalled, Is.GreaterThan(0), "the kernel (or pipe) took some of the data");

        TestContext.Out.WriteLine($"stalled with {stalled} bytes handed over; the writer buffers {pair.Writer.BufferSize} of {Total}");
        Assert.Multiple(() =>
        {
            Assert.That(drain.IsCompleted, Is.False);
            Assert.That(pair.Writer.BufferSize, Is.LessThanOrEqualTo(Total - stalled), "bytes the peer's kernel already holds are no longer buffered by the writer");
        });

        var receiving = pair.Peer.ReceiveExactlyAsync(Total);
        await drain.Within();
        await receiving.Within();

        await WaitUntilEmptyAsync(pair.Writer);
        Assert.That(pair.Writer.BufferSize, Is.Zero);
    }

    /// <summary>
    /// Waits (bounded) for a writer whose bytes the peer has all read to count them sent: the peer can hold the last
    /// bytes a moment before the send that carried them reports its completion (on TLS the last record counts once its
    /// ciphertext's send completes), and <see cref="ConnectionWriter.DrainAsync"/> returns at the low-water mark.
    /// </summary>
    internal static async Task WaitUntilEmptyAsync(ConnectionWriter writer)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (writer.BufferSize != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
    }

    [Test]
    public async Task AbortWhileDrainPending_DrainFails()
    {
        await using var pair = await TransportKit.OpenAsync(transport, smallBuffers: true);
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
    public async Task EchoChain_PeerStopsReading_EchoStopsReadingToo_BufferBounded()
    {
        QuarantinedOnTls();
        // Small, fixed kernel buffers on both sides, so the test is about RxStreams's own buffering.
        await using var pair = await TransportKit.OpenAsync(transport, smallBuffers: true);
        pair.Reader.Subscribe(pair.Writer); // the echo: reader -> writer, synchronously

        // The peer sends 16 MiB and, at first, never reads.
        const int Total = 16 * 1024 * 1024;
        const int ChunkSize = 64 * 1024;
        var chunk = Loopback.Pattern(ChunkSize, seed: 11);
        long sent = 0;
        var sending = Task.Run(() => SendRepeatedlyAsync(pair.Peer, chunk, Total / ChunkSize, n => Interlocked.Add(ref sent, n)));
        var echoWriter = pair.Writer;

        // Watch until the peer's sending stalls (bounded); record the echo writer's largest buffer meanwhile.
        long maxEchoBuffer = 0;
        long stalledAt = await WaitUntilStableAsync(() =>
        {
            maxEchoBuffer = Math.Max(maxEchoBuffer, echoWriter.BufferSize);
            return Interlocked.Read(ref sent);
        });
        maxEchoBuffer = Math.Max(maxEchoBuffer, echoWriter.BufferSize);
        TestContext.Out.WriteLine($"peer sends stalled at {stalledAt} bytes; echo writer buffer peaked at {maxEchoBuffer} bytes");

        Assert.Multiple(() =>
        {
            Assert.That(stalledAt, Is.LessThan(Total), "the echo stopped reading, so the peer's sends stall");
            // High-water mark (64 KiB) plus at most one received chunk (64 KiB): allow a few hundred KiB for the bound.
            Assert.That(maxEchoBuffer, Is.LessThanOrEqualTo(echoWriter.HighWaterMark + (384 * 1024)), "the echo's writer buffer stays bounded");
            Assert.That(sending.IsCompleted, Is.False);
        });

        // Now the peer reads: everything it sent comes back, in order, and the chain ends cleanly.
        var receiving = Task.Run(() => pair.Peer.ReceiveToEndAsync());
        await sending.Within();
        await pair.Peer.ShutdownSendAsync();
        var echoed = await receiving.Within();

        Assert.That(echoed.LongLength, Is.EqualTo((long)Total), "every byte sent is echoed once the peer reads");
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
        QuarantinedOnTls();
        await using var pair = await TransportKit.OpenAsync(transport, smallBuffers: true);
        pair.Reader.Lines().Subscribe(pair.Writer);

        var line = Loopback.Bytes(new string('L', 1000) + "\n");
        var block = Enumerable.Repeat(line, 64).SelectMany(b => b).ToArray();
        const int Blocks = 256; // 16 MB
        long sent = 0;
        var sending = Task.Run(() => SendRepeatedlyAsync(pair.Peer, block, Blocks, n => Interlocked.Add(ref sent, n)));

        var echoWriter = pair.Writer;
        long maxEchoBuffer = 0;
        long stalledAt = await WaitUntilStableAsync(() =>
        {
            maxEchoBuffer = Math.Max(maxEchoBuffer, echoWriter.BufferSize);
            return Interlocked.Read(ref sent);
        });
        TestContext.Out.WriteLine($"peer sends stalled at {stalledAt} bytes; echo writer buffer peaked at {maxEchoBuffer} bytes");

        Assert.Multiple(() =>
        {
            Assert.That(stalledAt, Is.LessThan((long)Blocks * block.Length));
            Assert.That(maxEchoBuffer, Is.LessThanOrEqualTo(echoWriter.HighWaterMark + (384 * 1024)));
        });

        var receiving = Task.Run(() => pair.Peer.ReceiveToEndAsync());
        await sending.Within();
        await pair.Peer.ShutdownSendAsync();
        var echoed = await receiving.Within();
        Assert.That(echoed.LongLength, Is.EqualTo((long)Blocks * block.Length));
    }

    [Test]
    public async Task Abort_WithASendInFlight_StaysAnAbort_NotAnError()
    {
        await using var pair = await TransportKit.OpenAsync(transport, smallBuffers: true);
        var writer = pair.Writer;
        for (int i = 0; i < 32; i++)
        {
            writer.Write(new byte[256 * 1024]); // the peer never reads: a send is left waiting in the kernel (or pipe)
        }

        writer.Abort();
        await pair.Connection.Closed.Within();

        // The aborted send fails on another thread shortly after; there is no event for it, so this bounded pause only
        // widens the window in which the old defect (that failure recorded as the connection's error) showed up.
        await Task.Delay(50);

        Assert.Multiple(() =>
        {
            Assert.That(pair.Connection.Error, Is.Null, "a local abort is not an error");
            Assert.DoesNotThrowAsync(() => writer.WaitClosedAsync(), "asyncio: wait_closed after abort() returns None");
        });
    }

    private static async Task SendRepeatedlyAsync(TransportPeer peer, byte[] data, int times, Action<int> onSent)
    {
        for (int i = 0; i < times; i++)
        {
            // No timeout here: these sends are expected to stall while the other side applies backpressure.
            await peer.SendAsync(data);
            onSent(data.Length);
        }
    }

    /// <summary>
    /// Polls <paramref name="sample"/> until it has not changed for 15 consecutive samples 20 ms apart (300 ms), at
    /// most for <see cref="Loopback.Timeout"/>. Used only to observe that a transfer has stalled; every assertion made
    /// afterwards holds whether or not the stall was detected early.
    /// </summary>
    /// <summary>
    /// The two echo-chain tests are quarantined on TLS (2026-12-06). Their TLS peer (a plain <c>SslStream</c> server)
    /// half-closes with <c>ShutdownAsync</c> (close_notify) while its own <c>ReadAsync</c> of the echo is pending, and that
    /// is not safe on this platform: <c>SSL_shutdown</c> fails with error 5 (SSL_ERROR_SYSCALL) and the pending read then
    /// fails too ("decryption failed or bad record mac", ECANCELED, or a disposed stream). Found by experiment: with
    /// <c>[Repeat(25)]</c> on the TLS case, 8 of 9 runs failed; with the peer's close_notify skipped, 5 of 5 runs (125
    /// iterations) passed. About 1 run in 30 of this fixture, and 2 of 4 clean-clone CI runs that day, failed this way.
    /// The library's <c>TlsChannel</c> had the same defect and keeps close_notify out of its decrypting reads since
    /// (<c>DecryptGate</c>, <c>TlsHalfCloseWhileReadingTests</c>); this harness peer, a bare <c>SslStream</c> over a
    /// <c>NetworkStream</c>, cannot. They run on TCP, Unix and in memory.
    /// </summary>
    private void QuarantinedOnTls() =>
        Assume.That(transport, Is.Not.EqualTo(TransportKind.Tls), "quarantined on TLS: the peer's SslStream fails decrypting the echo about 1 run in 30 (see QuarantinedOnTls)");

    internal static async Task<long> WaitUntilStableAsync(Func<long> sample)
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
