using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Internal;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// A push chain that copies every chunk (<c>reader.Lines().Subscribe(writer)</c>) recycles its receive arrays through
/// the shared pool; everything else keeps guarantee 1 (an emitted frame is never overwritten). The pool tests observe
/// the pool on one thread (ArrayPool.Shared hands the last array returned on a thread back to that thread first).
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class ReceiveArrayRecyclingTests
{
    [Test]
    public void RecyclingBuffer_ArrayLentOnlyToCopiers_GoesBackToThePool()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: true);

        var lent = buffer.Lend();
        buffer.Consume(lent.Length);
        buffer.ReleaseIfEmpty();

        var rented = NextPooledArray(array.Length);
        Assert.That(rented, Is.SameAs(array), "released after lending only: the array is reused");
    }

    [Test]
    public void RecyclingBuffer_ArrayExposed_IsNeverPooled()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: true);

        var kept = buffer.Expose(); // someone may keep this slice forever
        buffer.Consume(kept.Length);
        buffer.ReleaseIfEmpty();

        var rented = NextPooledArray(array.Length);
        Assert.That(rented, Is.Not.SameAs(array));
        Assert.That(kept.Span.ToArray(), Is.EqualTo(Enumerable.Range(0, 100).Select(i => (byte)i).ToArray()));
    }

    [Test]
    public void RecyclingBuffer_MarkEscaped_KeepsTheArrayOutOfThePool()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: true);

        var lent = buffer.Lend();
        buffer.Consume(lent.Length);
        buffer.MarkEscaped(); // the consumer kept a partial frame
        buffer.ReleaseIfEmpty();

        var rented = NextPooledArray(array.Length);
        Assert.That(rented, Is.Not.SameAs(array));
    }

    [Test]
    public void NonRecyclingBuffer_AllocatesAndNeverPools()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: false);
        var lent = buffer.Lend();
        buffer.Consume(lent.Length);
        buffer.ReleaseIfEmpty();

        var rented = NextPooledArray(array.Length);
        Assert.That(rented, Is.Not.SameAs(array));
    }

    [Test]
    public void ChunkLease_CopierHoldingNothing_RewindsTheArrayForTheNextReceive()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: true);

        var lease = ChunkLease.Take(ref buffer, new Copier(holds: false));
        Assert.That(lease.Chunk.Length, Is.EqualTo(100));
        lease.Settle(ref buffer, completed: true);

        var next = buffer.GetFreeSpace(100, ReadBuffer.DefaultArraySize, pooled: true);
        Assert.That(MemoryMarshal.TryGetArray<byte>(next, out var segment) && ReferenceEquals(segment.Array, array) && segment.Offset == 0, Is.True, "the same array, from its start");
        buffer.ReleaseIfEmpty();
        Assert.That(NextPooledArray(array.Length), Is.SameAs(array), "and back to the pool when released");
    }

    [Test]
    public void ChunkLease_CopierHoldingASlice_KeepsTheArrayOutOfThePool()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: true);

        var lease = ChunkLease.Take(ref buffer, new Copier(holds: true));
        lease.Settle(ref buffer, completed: true);
        buffer.ReleaseIfEmpty();

        Assert.That(NextPooledArray(array.Length), Is.Not.SameAs(array));
    }

    [Test]
    public void ChunkLease_ConsumerThatThrew_KeepsTheArrayOutOfThePool()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: true);

        var lease = ChunkLease.Take(ref buffer, new Copier(holds: false));
        lease.Settle(ref buffer, completed: false); // OnNext threw: whatever it did, assume it kept the chunk
        buffer.ReleaseIfEmpty();

        Assert.That(NextPooledArray(array.Length), Is.Not.SameAs(array));
    }

    [Test]
    public void ChunkLease_WithoutCopier_ExposesTheChunk_ArrayNeverPooled()
    {
        var buffer = default(ReadBuffer);
        var array = FillAndTakeArray(ref buffer, 100, pooled: true);

        var lease = ChunkLease.Take(ref buffer, copier: null);
        lease.Settle(ref buffer, completed: true);
        buffer.ReleaseIfEmpty();

        Assert.That(NextPooledArray(array.Length), Is.Not.SameAs(array));
        Assert.That(ChunkLease.StrategyFor(null), Is.EqualTo(ReceiveStrategy.Kept));
    }

    [Test]
    public void ChunkLease_Copiers_AreTheWriterAndAFramerFeedingIt_NotOtherObservers()
    {
        var (client, _) = InMemoryConnection.CreatePair();
        Assert.That(ChunkLease.CopierOf(client.Writer), Is.Not.Null);
        Assert.That(ChunkLease.CopierOf(new RecordingObserver()), Is.Null);
        Assert.That(ChunkLease.StrategyFor(ChunkLease.CopierOf(client.Writer)), Is.EqualTo(ReceiveStrategy.Pooled));
        client.Abort();
    }

    /// <summary>
    /// Lines split at random points across many small sends, so the framer is often left holding a partial line in a
    /// receive array: that array must not be recycled while it does (the echo would be corrupted), on several
    /// connections at once so that a wrongly recycled array is quickly handed to another connection.
    /// </summary>
    [Test]
    public async Task LinesIntoWriter_EchoesEveryByte_WhenLinesStraddleReceives()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var subscription = server.Subscribe(c => c.Reader.Lines().Subscribe(c.Writer));
        var port = server.Port();

        var runs = Enumerable.Range(0, 4).Select(seed => Task.Run(() => EchoFragmentedAsync(port, seed)));
        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(50));
    }

    /// <summary>
    /// The sharpest case: a partial line sits alone at the front of a receive array, and the next receive is large. If
    /// that array went back to the pool, the large receive (on whichever connection rents it) would overwrite the
    /// partial line before it is completed and echoed. Each round waits for the echo of the complete line sent with the
    /// partial one, so the server has framed that chunk before the large one is sent.
    /// </summary>
    [Test]
    public async Task LinesIntoWriter_PartialLineSurvivesALargeNextReceive()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var subscription = server.Subscribe(c => c.Reader.Lines().Subscribe(c.Writer));

        await Task.WhenAll(Enumerable.Range(0, 3).Select(seed => Task.Run(async () =>
        {
            using var socket = await Loopback.ConnectRawAsync(new IPEndPoint(IPAddress.Loopback, server.Port()));
            var bulk = Concat(MakeLines(new Random(seed), 150)); // about 15 KB of complete lines
            for (int round = 0; round < 60; round++)
            {
                var head = Encoding.ASCII.GetBytes($"round {round}\n");
                var partial = Encoding.ASCII.GetBytes($"partial-{seed}-{round}-");
                await socket.SendAllAsync(head.Concat(partial).ToArray());
                Assert.That(await socket.ReceiveExactlyAsync(head.Length), Is.EqualTo(head));

                // The rest of the partial line, then many lines, in one send.
                var rest = Encoding.ASCII.GetBytes("end\n").Concat(bulk).ToArray();
                await socket.SendAllAsync(rest);
                var expected = partial.Concat(rest).ToArray();
                var echoed = await socket.ReceiveExactlyAsync(expected.Length);
                Assert.That(Encoding.ASCII.GetString(echoed, 0, partial.Length + 4), Is.EqualTo(Encoding.ASCII.GetString(expected, 0, partial.Length + 4)), $"round {round}");
                Assert.That(echoed.AsSpan().SequenceEqual(expected), Is.True, $"connection {seed}, round {round}");
            }
        }))).WaitAsync(TimeSpan.FromSeconds(50));
    }

    /// <summary>
    /// Frames an observer keeps (not a writer: its slices escape) stay intact while other connections of the same process
    /// echo through recycled arrays.
    /// </summary>
    [Test]
    public async Task KeptLines_AreNeverOverwritten_WhileOtherConnectionsRecycle()
    {
        var echo = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var echoGuard = Loopback.Guard(echo);
        using var echoing = echo.Subscribe(c => c.Reader.Lines().Subscribe(c.Writer));

        var kept = new List<ReadOnlyMemory<byte>>();
        var keptAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var keeper = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var keeperGuard = Loopback.Guard(keeper);
        using var keeping = keeper.Subscribe(c => c.Reader.Lines().Subscribe(
            line =>
            {
                lock (kept)
                {
                    kept.Add(line);
                }
            },
            _ => keptAll.TrySetResult(),
            () =>
            {
                keptAll.TrySetResult();
                c.Writer.Close();
            }));

        var lines = MakeLines(new Random(99), 2_000);
        using (var client = await Loopback.ConnectRawAsync(new IPEndPoint(IPAddress.Loopback, keeper.Port())))
        {
            await client.SendAllAsync(Concat(lines));
            client.Shutdown(SocketShutdown.Send);
            await keptAll.Task.Within();
        }

        // Keep the process's pool busy while the kept frames sit in memory.
        await Task.WhenAll(Enumerable.Range(0, 2).Select(seed => Task.Run(() => EchoFragmentedAsync(echo.Port(), 10 + seed))))
            .WaitAsync(TimeSpan.FromSeconds(50));

        lock (kept)
        {
            Assert.That(kept.Select(l => Encoding.ASCII.GetString(l.Span)), Is.EqualTo(lines.Select(Encoding.ASCII.GetString)));
        }
    }

    private static async Task EchoFragmentedAsync(int port, int seed)
    {
        var random = new Random(seed);
        var payload = Concat(MakeLines(random, 3_000));
        using var socket = await Loopback.ConnectRawAsync(new IPEndPoint(IPAddress.Loopback, port));
        var receiving = socket.ReceiveExactlyAsync(payload.Length);
        for (int offset = 0; offset < payload.Length;)
        {
            int size = Math.Min(random.Next(1, 300), payload.Length - offset);
            await socket.SendAllAsync(payload.AsMemory(offset, size));
            offset += size;
        }

        var echoed = await receiving.Within();
        Assert.That(echoed.AsSpan().SequenceEqual(payload), Is.True, $"connection {seed}: the echo differs from what was sent");
    }

    private static List<byte[]> MakeLines(Random random, int count) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var line = new byte[random.Next(1, 200)];
            for (int j = 0; j < line.Length - 1; j++)
            {
                line[j] = (byte)('a' + ((i + j) % 26));
            }

            line[^1] = (byte)'\n';
            return line;
        }).ToList();

    private static byte[] Concat(List<byte[]> lines) => lines.SelectMany(l => l).ToArray();

    /// <summary>A consumer that says it copies every chunk, and whether it still holds one.</summary>
    private sealed class Copier(bool holds) : IChunkConsumer
    {
        public bool CopiesChunks => true;

        public bool HoldsChunk => holds;
    }

    /// <summary>The array the pool would hand this thread next for <paramref name="length"/> bytes (rented and given straight back).</summary>
    private static byte[] NextPooledArray(int length)
    {
        var rented = ArrayPool<byte>.Shared.Rent(length);
        ArrayPool<byte>.Shared.Return(rented);
        return rented;
    }

    private static byte[] FillAndTakeArray(ref ReadBuffer buffer, int count, bool pooled)
    {
        var free = buffer.GetFreeSpace(count, ReadBuffer.DefaultArraySize, pooled);
        for (int i = 0; i < count; i++)
        {
            free.Span[i] = (byte)i;
        }

        buffer.Commit(count);
        Assert.That(MemoryMarshal.TryGetArray<byte>(free, out var segment), Is.True);
        return segment.Array!;
    }
}
