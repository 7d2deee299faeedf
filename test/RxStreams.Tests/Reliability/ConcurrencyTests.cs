using System.Diagnostics;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary>
/// The races of issue 7, each decided in the XML docs of <see cref="ConnectionWriter"/> and <see cref="ConnectionReader"/>
/// and run many times (bounded in count and in time) over real loopback connections.
/// </summary>
public class ConcurrencyTests
{
    private static readonly int Iterations = EnvInt("RXSTREAMS_RACE_ITERATIONS", 150);

    /// <summary>Generous: bounds a hang of the whole loop on a loaded machine, never decides a result.</summary>
    private static readonly TimeSpan LoopBound = TimeSpan.FromMinutes(2);

    [Test]
    public async Task ConcurrentDrains_AllCompleteTogetherWhenTheBufferDrains_OrAllFailWithTheConnection()
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Iterations / 5 && clock.Elapsed < LoopBound; i++)
        {
            await using var pair = await ClientAndPeer.OpenAsync(new ConnectionOptions { HighWaterMark = 4096 }, peerReceiveBuffer: 4096);
            pair.Connection.Socket!.SendBufferSize = 4096;
            var writer = pair.Writer;
            var payload = Loopback.Pattern(512 * 1024, seed: i);
            writer.Write(payload);
            // Eight callers on eight pool threads (StartNew does not unwrap: these are the drain tasks themselves).
            var drains = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() => writer.DrainAsync().AsTask(), CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default)));
            Assert.That(drains.Count(d => d.IsCompleted), Is.LessThan(8), "with the peer not reading, drains wait");

            bool reset = i % 2 == 1;
            if (reset)
            {
                pair.Peer.Reset();
                foreach (var drain in drains)
                {
                    Assert.That(async () => await drain.Within(), Throws.InstanceOf<IOException>(), $"iteration {i}: every waiting drain fails with the connection");
                }
            }
            else
            {
                var received = pair.Peer.ReceiveExactlyAsync(payload.Length);
                await Task.WhenAll(drains).Within();
                Assert.That(await received, Is.EqualTo(payload), $"iteration {i}: every byte, in order");
            }
        }
    }

    [Test]
    public async Task WriteRacingClose_EachWriteIsSentWholeOrThrows_NeverPartlyNeverSilently()
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Iterations && clock.Elapsed < LoopBound; i++)
        {
            await using var pair = await ClientAndPeer.OpenAsync();
            var writer = pair.Writer;
            var accepted = new List<byte[]>();
            using var start = new Barrier(2);
            var writes = Task.Run(() =>
            {
                start.SignalAndWait();
                for (int k = 0; k < 200; k++)
                {
                    var message = Loopback.Bytes($"[{i}:{k}]");
                    try
                    {
                        writer.Write(message);
                        accepted.Add(message);
                    }
                    catch (InvalidOperationException)
                    {
                        return; // after Close: refused, and every later write is refused too
                    }
                }
            });
            var close = Task.Run(() =>
            {
                start.SignalAndWait();
                Thread.SpinWait(i * 50); // spread the close over the writes
                writer.Close();
            });
            await Task.WhenAll(writes, close).Within();
            await writer.WaitClosedAsync().Within();

            var received = await pair.Peer.ReceiveToEndAsync();
            Assert.That(Loopback.Text(received), Is.EqualTo(string.Concat(accepted.Select(Loopback.Text))),
                $"iteration {i}: the peer got exactly the writes that returned, whole and in order, then the FIN");
        }
    }

    [Test]
    public async Task ObserverOnNextRacingConnectionDispose_SameRuleAsWriteRacingClose()
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Iterations && clock.Elapsed < LoopBound; i++)
        {
            await using var pair = await ClientAndPeer.OpenAsync();
            IObserver<ReadOnlyMemory<byte>> observer = pair.Writer;
            var accepted = new List<string>();
            using var start = new Barrier(2);
            var pushes = Task.Run(() =>
            {
                start.SignalAndWait();
                for (int k = 0; k < 200; k++)
                {
                    string message = $"<{k}>";
                    try
                    {
                        observer.OnNext(Loopback.Bytes(message));
                        accepted.Add(message);
                    }
                    catch (InvalidOperationException)
                    {
                        return;
                    }
                }
            });
            var dispose = Task.Run(async () =>
            {
                start.SignalAndWait();
                Thread.SpinWait(i * 50);
                await pair.Connection.DisposeAsync();
            });
            await Task.WhenAll(pushes, dispose).Within();
            Assert.That(Loopback.Text(await pair.Peer.ReceiveToEndAsync()), Is.EqualTo(string.Concat(accepted)), $"iteration {i}");
        }
    }

    [Test]
    public async Task SubscriptionDisposalRacingOnNext_NoByteLostOrRepeated_TheNextConsumerGetsTheRest()
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Iterations / 3 && clock.Elapsed < LoopBound; i++)
        {
            await using var pair = await ClientAndPeer.OpenAsync();
            var payload = Loopback.Pattern(256 * 1024, seed: i);
            var sending = Task.Run(async () =>
            {
                for (int at = 0; at < payload.Length; at += 4096)
                {
                    await pair.Peer.SendAllAsync(payload.AsMemory(at, 4096));
                }

                pair.Peer.Shutdown(SocketShutdown.Send);
            });

            var first = new RecordingObserver();
            var subscription = pair.Reader.Subscribe(first);
            await first.FirstChunk.Within();
            await Task.Run(() =>
            {
                Thread.SpinWait(i * 200);
                subscription.Dispose(); // while chunks are being delivered
            });

            var second = new RecordingObserver();
            using var next = pair.Reader.Subscribe(second);
            var end = await second.Done.Within();
            Assert.That(end, Is.Null, $"iteration {i}: the next consumer reads to the end, but got {end}; first got {first.Data.Length} bytes, ended {(first.Done.IsCompleted ? first.Done.Result?.ToString() ?? "completed" : "no")}");
            await sending.Within();
            Assert.That(first.Data.Concat(second.Data).ToArray(), Is.EqualTo(payload), $"iteration {i}: the two consumers' bytes are the stream, in order ({first.Data.Length} + {second.Data.Length})");
            Assert.That(first.Overlapped || second.Overlapped, Is.False, "never two OnNext at once");
        }
    }

    [Test]
    public async Task AbortRacingAPendingRead_TheReadEndsWithDataOrTheEnd_NeverHangsNeverThrowsSomethingElse()
    {
        var clock = Stopwatch.StartNew();
        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < Iterations && clock.Elapsed < LoopBound; i++)
        {
            await using var pair = await ClientAndPeer.OpenAsync();
            var read = pair.Reader.ReadLineAsync().AsTask();
            using var start = new Barrier(2);
            var send = Task.Run(async () =>
            {
                start.SignalAndWait();
                try
                {
                    await pair.Peer.SendAsync(Loopback.Bytes("line\n"), SocketFlags.None);
                }
                catch (SocketException)
                {
                    // the abort's reset reached the peer first
                }
            });
            var abort = Task.Run(() =>
            {
                start.SignalAndWait();
                Thread.SpinWait(i * 20);
                pair.Connection.Abort();
            });
            await Task.WhenAll(send, abort).Within();

            // Our own abort is the end of the input: the read returns the line if it came first, else what it had.
            string line = Loopback.Text(await read.Within());
            Assert.That(new[] { "", "line\n" }.Contains(line) || "line\n".StartsWith(line, StringComparison.Ordinal), Is.True, $"iteration {i}: got '{line}'");
            outcomes[line.Length == 0 ? "end" : "line"] = outcomes.GetValueOrDefault(line.Length == 0 ? "end" : "line") + 1;
            Assert.That(pair.Connection.Error, Is.Null, "an abort of our own is not an error");
            Assert.That((await pair.Reader.ReadLineAsync().AsTask().Within()).Length, Is.Zero, "and later reads see the end");
        }

        TestContext.Out.WriteLine("outcomes: " + string.Join(", ", outcomes.Select(p => $"{p.Key}={p.Value}")));
    }
}
