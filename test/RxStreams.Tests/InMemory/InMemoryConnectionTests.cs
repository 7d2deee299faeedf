using System.Net.Sockets;
using System.Reactive.Linq;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.InMemory;

/// <summary>The in-memory pair behaves like a socket: bytes, half-close, close, abort, backpressure.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class InMemoryConnectionTests
{
    [Test]
    public async Task WhatOneSideWrites_TheOtherReads_BothWays()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;

        client.Writer.WriteLine("PING");
        var request = await server.Reader.ReadLineAsync().Within();
        server.Writer.WriteLine("PONG " + Loopback.Text(request).TrimEnd());
        var reply = await client.Reader.ReadLineAsync().Within();

        Assert.That(Loopback.Text(request), Is.EqualTo("PING\n"));
        Assert.That(Loopback.Text(reply), Is.EqualTo("PONG PING\n"));
        Assert.That(client.RemoteEndPoint, Is.EqualTo(new InMemoryEndPoint("server")));
        Assert.That(server.RemoteEndPoint!.ToString(), Is.EqualTo("memory:client"));
        Assert.That(client.Socket, Is.Null);
    }

    [Test]
    public async Task PushEcho_OverThePair_EchoesEveryLineThenCompletesOnHalfClose()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;
        using var echo = server.Reader.Lines().Subscribe(server.Writer);

        client.Writer.WriteLine("one");
        client.Writer.WriteLine("two");
        client.Writer.WriteEof();
        var echoed = await client.Reader.ReadAsync(-1).Within(); // to EOF: the server half-closed after the echo

        Assert.That(Loopback.Text(echoed), Is.EqualTo("one\ntwo\n"));
        await server.Closed.Within(); // both directions done: the connection closed by itself, as a socket's does
        Assert.That(server.Error, Is.Null);
    }

    [Test]
    public async Task WriteEof_PeerReadsEof_AndCanStillReply()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;

        client.Writer.Write(Loopback.Bytes("request"));
        client.Writer.WriteEof();
        var request = await server.Reader.ReadAsync(-1).Within();
        Assert.That(server.Reader.AtEof, Is.True);
        server.Writer.Write(Loopback.Bytes("got " + Loopback.Text(request)));
        server.Writer.Close();

        Assert.That(Loopback.Text(await client.Reader.ReadAsync(-1).Within()), Is.EqualTo("got request"));
        Assert.That(client.Writer.CanWriteEof, Is.True);
    }

    [Test]
    public async Task Close_FlushesFirst_PeerSeesEof_AndWritingBackFailsWithReset()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;

        server.Writer.Write(Loopback.Pattern(10_000));
        server.Writer.Close();
        await server.Writer.WaitClosedAsync().Within();
        var all = await client.Reader.ReadAsync(-1).Within();
        Assert.That(all.ToArray(), Is.EqualTo(Loopback.Pattern(10_000)));

        client.Writer.Write(Loopback.Bytes("too late"));
        var lost = Assert.ThrowsAsync<IOException>(async () => await client.Writer.WaitClosedAsync().Within());
        Assert.That(((SocketException)lost!.InnerException!).SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
    }

    [Test]
    public async Task Abort_PeerReadsBytesInFlight_ThenConnectionReset()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;

        client.Writer.Write(Loopback.Bytes("partial line"));
        await client.Writer.DrainAsync().Within();
        client.Abort();

        var error = Assert.ThrowsAsync<IncompleteReadException>(async () => await server.Reader.ReadLineAsync().Within());
        Assert.That(Loopback.Text(error!.Partial), Is.EqualTo("partial line"), "bytes that arrived before the reset are kept");
        Assert.That(((SocketException)error.InnerException!.InnerException!).SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
        await server.Closed.Within();
        Assert.That(server.Error, Is.InstanceOf<IOException>());
    }

    [Test]
    public async Task SendsQueuedBeforeTheReaderAsks_AreReceivedOneEach_InTheSendersOwnArrays()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;
        foreach (var text in new[] { "first", "second", "third" })
        {
            client.Writer.Write(Loopback.Bytes(text));
            await client.Writer.DrainAsync().Within(); // one send each, all queued before the reader asks
        }

        client.Writer.WriteEof();
        using var timeout = new CancellationTokenSource(Loopback.Timeout);
        var chunks = new List<ReadOnlyMemory<byte>>();
        await foreach (var chunk in server.Reader.ReadChunksAsync(timeout.Token))
        {
            chunks.Add(chunk);
        }

        // A receive takes one send, as a socket's takes at most a buffer's worth, so the reader adopts each send's array;
        // taking all three at once copied the second and third into a fresh buffer behind the first.
        Assert.That(chunks.Select(static c => Loopback.Text(c)), Is.EqualTo(new[] { "first", "second", "third" }));
        foreach (var chunk in chunks)
        {
            Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(chunk, out var segment), Is.True);
            Assert.That((segment.Offset, segment.Array!.Length), Is.EqualTo((0, chunk.Length)), "the send's own array, not a copy");
        }
    }

    [Test]
    public async Task PeerNotReading_WriterPausesAboveHighWater_DrainWaitsUntilPeerReads()
    {
        var options = new ConnectionOptions { HighWaterMark = 64, LowWaterMark = 32 };
        await using var pair = InMemoryConnection.CreatePair(options, transferCapacity: 100);
        var (client, server) = pair;

        client.Writer.Write(new byte[300]); // 100 fit in flight, 200 stay in the writer: above 64
        await WaitUntil(() => client.Writer.BufferSize == 200);
        Assert.That(client.Writer.IsPaused, Is.True);
        var drain = client.Writer.DrainAsync();
        Assert.That(drain.IsCompleted, Is.False, "the peer has read nothing, so the writer cannot drain");

        var first = await server.Reader.ReadExactlyAsync(100).Within(); // frees the window: 100 more move, 100 stay
        Assert.That(first.Length, Is.EqualTo(100));
        var rest = await server.Reader.ReadExactlyAsync(200).Within();
        await drain.Within();

        Assert.That(rest.Length, Is.EqualTo(200));
        Assert.That(client.Writer.IsPaused, Is.False);
        Assert.That(client.Writer.BufferSize, Is.Zero);
    }

    [Test]
    public async Task SlowConsumer_HoldsTheProducingChain_WithBoundedMemory()
    {
        // A proxy chain: client → server end A reads lines and writes them to B's writer, whose peer reads nothing.
        var options = new ConnectionOptions { HighWaterMark = 1024, LowWaterMark = 256, MaxWriteBufferSize = 64 * 1024 };
        await using var inbound = InMemoryConnection.CreatePair(options, transferCapacity: 4096);
        await using var outbound = InMemoryConnection.CreatePair(options, transferCapacity: 4096);
        using var proxy = inbound.Server.Reader.Subscribe(outbound.Client.Writer);

        var line = Loopback.Bytes(new string('x', 99) + "\n");
        var producer = Task.Run(async () =>
        {
            for (int i = 0; i < 2000; i++)
            {
                inbound.Client.Writer.Write(line);
                await inbound.Client.Writer.DrainAsync();
            }
        });

        // Nobody reads outbound.Server: the producer must stall long before 200 KB are written.
        await WaitUntil(() => inbound.Client.Writer.IsPaused);
        Assert.That(producer.IsCompleted, Is.False);
        Assert.That(outbound.Client.Writer.BufferSize, Is.LessThanOrEqualTo(options.MaxWriteBufferSize));

        // Now read everything: the chain resumes and every byte arrives in order.
        var received = 0;
        await foreach (var chunk in outbound.Server.Reader.ReadChunksAsync())
        {
            received += chunk.Length;
            if (received == 2000 * line.Length)
            {
                break;
            }
        }

        await producer.Within();
        Assert.That(received, Is.EqualTo(2000 * line.Length));
    }

    [TestCase(13, 128 * 1024)]
    [TestCase(4096, 1024 * 1024)]
    public async Task Megabytes_ThroughASmallWindow_ArriveIntactAndInOrder(int transferCapacity, int length)
    {
        var options = new ConnectionOptions { HighWaterMark = 8192, LowWaterMark = 1024 };
        await using var pair = InMemoryConnection.CreatePair(options, transferCapacity);
        var payload = Loopback.Pattern(length, seed: transferCapacity);

        var sending = Task.Run(async () =>
        {
            // Writes of uneven sizes, drained whenever the writer pauses: the window is far smaller than a write.
            for (int offset = 0, size = 1; offset < payload.Length; offset += size, size = size * 3 % 10_007 + 1)
            {
                size = Math.Min(size, payload.Length - offset);
                pair.Client.Writer.Write(payload.AsSpan(offset, size));
                await pair.Client.Writer.DrainAsync();
            }

            pair.Client.Writer.WriteEof();
        });
        var received = await pair.Server.Reader.ReadAsync(-1).Within();
        await sending.Within();

        Assert.That(received.Length, Is.EqualTo(payload.Length));
        Assert.That(received.Span.SequenceEqual(payload), Is.True, "same bytes, same order");
    }

    [Test]
    public void CreatePair_RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => InMemoryConnection.CreatePair(transferCapacity: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => InMemoryConnection.CreatePair(new ConnectionOptions { HighWaterMark = 10, LowWaterMark = 20 }));
        Assert.Throws<ArgumentNullException>(() => _ = new InMemoryEndPoint(null!));
    }

    [Test]
    public async Task DisposingThePair_ClosesBothEnds()
    {
        var pair = InMemoryConnection.CreatePair();
        await pair.DisposeAsync().Within();
        await pair.DisposeAsync().Within(); // idempotent

        Assert.That(pair.Client.Closed.IsCompleted && pair.Server.Closed.IsCompleted, Is.True);
        Assert.That(pair.Client.Error, Is.Null);
    }

    /// <summary>Polls a condition the test cannot await directly (a byte count), bounded by <see cref="Loopback.Timeout"/>.</summary>
    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not reached in time");
            await Task.Delay(5);
        }
    }
}
