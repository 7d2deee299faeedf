using System.Reactive.Linq;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Pull;

/// <summary>
/// Issue 13 item 3: an async consumer (ForEachAwaitAsync, ToBoundedAsyncEnumerable) of a reader's frames holds the
/// reader, so a slow consumer keeps the writer on the other end within a few hundred KiB.
/// </summary>
/// <remarks>
/// The producer writes 4 KiB lines and awaits <c>DrainAsync</c> after each, so what it has written is what the pipe,
/// the reader and the consumer's queue accepted. At every line, the test records how far the producer is ahead of the
/// consumer; with the reader held that lag is bounded by the buffers on the way (the writer's high-water mark, the
/// pair's 64 KiB in flight, one received chunk), whatever the timing. Without the hold the producer finishes at once
/// and the lag is nearly everything it wrote.
/// </remarks>
[TestFixture]
[CancelAfter(120_000)]
public sealed class AsyncConsumerBackpressureTests
{
    private const int LineLength = 4 * 1024;
    private const int LineCount = 384; // 1.5 MiB
    private const long LagBound = 512 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60); // 384 callbacks of ~2 ms each, on a loaded machine

    public enum Shape
    {
        Lines,
        LinesText,
    }

    [Test]
    public async Task ForEachAwaitAsync_SlowConsumer_HoldsTheWriterOnTheOtherEnd([Values] Shape shape)
    {
        await using var pair = InMemoryConnection.CreatePair();
        var producer = new Producer(pair.Server.Writer);
        long consumed = 0;
        long maxLag = 0;
        int lines = 0;

        async Task TakeAsync(long length, CancellationToken cancellationToken)
        {
            maxLag = Math.Max(maxLag, producer.Accepted - consumed);
            consumed += length;
            lines++;
            await Task.Delay(2, cancellationToken);
        }

        var producing = producer.RunAsync();
        var consuming = shape == Shape.Lines
            ? pair.Client.Reader.Lines().ForEachAwaitAsync((line, ct) => TakeAsync(line.Length, ct))
            : pair.Client.Reader.LinesText().ForEachAwaitAsync((line, ct) => TakeAsync(line.Length + 1, ct));
        await consuming.WaitAsync(Bound);
        await producing.WaitAsync(Bound);

        TestContext.Out.WriteLine($"{shape}: the producer was at most {maxLag / 1024} KiB ahead of the consumer");
        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(LineCount), "every line, then the task completed with the stream");
            Assert.That(maxLag, Is.LessThanOrEqualTo(LagBound), "the producer never got further ahead than the buffers on the way");
        });
    }

    [Test]
    public async Task ToBoundedAsyncEnumerable_SlowConsumer_HoldsTheWriterOnTheOtherEnd()
    {
        await using var pair = InMemoryConnection.CreatePair();
        await ConsumeSlowlyAsync(pair.Server.Writer, pair.Client.Reader.Lines().ToBoundedAsyncEnumerable(capacity: 16));
    }

    [Test]
    public async Task PullFraming_OverReadChunksAsync_SlowConsumer_HoldsTheWriterOnTheOtherEnd([Values] bool throughAnotherOperator)
    {
        await using var pair = InMemoryConnection.CreatePair();

        // Straight on ReadChunksAsync the operator decodes in the reader's buffer; behind another operator it pulls chunks.
        var chunks = pair.Client.Reader.ReadChunksAsync();
        var framed = throughAnotherOperator ? chunks.Where(static chunk => !chunk.IsEmpty).Lines() : chunks.Lines();
        await ConsumeSlowlyAsync(pair.Server.Writer, framed);
    }

    /// <summary>Takes <paramref name="framed"/> with <c>await foreach</c>, ~2 ms per line, while a producer writes on the other end; asserts the lag stayed bounded.</summary>
    private static async Task ConsumeSlowlyAsync(ConnectionWriter writer, IAsyncEnumerable<ReadOnlyMemory<byte>> framed)
    {
        var producer = new Producer(writer);
        long consumed = 0;
        long maxLag = 0;
        int lines = 0;

        var producing = producer.RunAsync();
        var consuming = Task.Run(async () =>
        {
            await foreach (var line in framed)
            {
                maxLag = Math.Max(maxLag, producer.Accepted - consumed);
                consumed += line.Length;
                lines++;
                await Task.Delay(2);
            }
        });
        await consuming.WaitAsync(Bound);
        await producing.WaitAsync(Bound);

        TestContext.Out.WriteLine($"the producer was at most {maxLag / 1024} KiB ahead of the consumer");
        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(LineCount));
            Assert.That(maxLag, Is.LessThanOrEqualTo(LagBound));
        });
    }

    [Test]
    public async Task ForEachAwaitAsync_CallbackFails_TaskFaultsWithIt_AndTheReaderIsFreeAgain()
    {
        await using var pair = InMemoryConnection.CreatePair();
        pair.Server.Writer.Write(Loopback.Bytes("one\ntwo\nthree\n"));
        pair.Server.Writer.WriteEof();

        var failing = pair.Client.Reader.Lines().ForEachAwaitAsync(async (line, ct) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("bad " + Loopback.Text(line).TrimEnd());
        });

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await failing.WaitAsync(Loopback.Timeout));
        Assert.That(error!.Message, Is.EqualTo("bad one"));
        // The subscription was disposed, so another consumer can take the reader over (here: to its end).
        await pair.Client.Reader.ReadAsync(-1).Within();
        Assert.That(pair.Client.Reader.AtEof, Is.True);
    }

    /// <summary>Writes <see cref="LineCount"/> lines, draining after each, then half-closes; counts what was accepted.</summary>
    private sealed class Producer(ConnectionWriter writer)
    {
        private long _accepted;

        public long Accepted => Interlocked.Read(ref _accepted);

        public async Task RunAsync()
        {
            var line = new byte[LineLength];
            line.AsSpan().Fill((byte)'x');
            line[^1] = (byte)'\n';
            for (int i = 0; i < LineCount; i++)
            {
                writer.Write(line);
                Interlocked.Add(ref _accepted, line.Length);
                await writer.DrainAsync();
            }

            writer.WriteEof();
        }
    }
}
