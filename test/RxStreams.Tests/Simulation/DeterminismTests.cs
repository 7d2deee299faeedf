using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Testing;

namespace RxStreams.Tests.Simulation;

/// <summary>
/// The same seed gives the same run: a client/server pair (an asyncio-style handler, a reconnecting client with
/// timeouts) through a partition on a timeline and random faults, each seed run twice, traces compared.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class DeterminismTests
{
    /// <summary>Answers each line with "ack:LINE" after a think time of 1 ms of virtual time: awaits in the handler.</summary>
    private static async Task AckServer(SimulatedNetwork network, ConnectionReader reader, ConnectionWriter writer)
    {
        await foreach (var line in reader.ReadLinesAsync())
        {
            await network.Delay(TimeSpan.FromMilliseconds(1));
            writer.Write("ack:"u8);
            writer.Write(line.Span);
            await writer.DrainAsync();
        }
    }

    private static (IReadOnlyList<string> Trace, IReadOnlyList<string> Outcome) Run(int seed)
    {
        using var network = new SimulatedNetwork(seed, new SimulationOptions
        {
            DefaultLink = new LinkSettings
            {
                Latency = TimeSpan.FromMilliseconds(2),
                Jitter = TimeSpan.FromMilliseconds(5),
                SegmentSize = 5,
                BytesPerSecond = 200_000,
            },
        });
        network.Host("server").Listen(7000, (reader, writer) => AckServer(network, reader, writer));
        network.At(TimeSpan.FromMilliseconds(30), () => network.Partition("client", "server"));
        network.At(TimeSpan.FromMilliseconds(1200), () => network.Heal("client", "server"));
        network.InjectRandomFaults(new RandomFaults { Count = 2, Until = TimeSpan.FromSeconds(3), MaxDuration = TimeSpan.FromSeconds(1), Crashes = true });
        var outcome = new List<string>();
        var client = network.Spawn(async () =>
        {
            using var connection = new ReconnectingClient(network, "client", "server", 7000) { Timeout = TimeSpan.FromMilliseconds(500) };
            for (int i = 0; i < 3; i++)
            {
                var reply = await connection.ExchangeAsync(
                    async (c, ct) =>
                    {
                        c.Writer.WriteLine($"message {i}");
                        var line = await c.Reader.ReadLineAsync(ct);
                        return line.IsEmpty ? throw new IOException("closed") : Encoding.UTF8.GetString(line.Span).TrimEnd();
                    },
                    TimeSpan.FromSeconds(30));
                outcome.Add($"{network.Now.Ticks} {reply}");
            }

            outcome.AddRange(connection.Failures);
        });

        bool done = network.RunUntil(() => client.IsCompleted, TimeSpan.FromSeconds(40));
        outcome.Add(done ? client.Status.ToString() : "hung");
        if (client.IsFaulted)
        {
            outcome.Add(client.Exception!.InnerException!.Message);
        }

        if (RespScenario.Escapes(network) is { } escape)
        {
            outcome.Add(escape);
        }

        return (network.Trace, outcome);
    }

    [Test]
    public void SameSeedTwice_SameTraceAndOutcome_OverTwoHundredSeeds_WithPartitions()
    {
        var differing = new List<string>();
        for (int seed = 0; seed < 200 && differing.Count < 3; seed++)
        {
            var first = Run(seed);
            var second = Run(seed);
            if (!first.Trace.SequenceEqual(second.Trace) || !first.Outcome.SequenceEqual(second.Outcome))
            {
                int at = first.Trace.Zip(second.Trace).TakeWhile(static p => p.First == p.Second).Count();
                differing.Add($"seed {seed} differs at trace line {at}:\n  first:  {first.Trace.ElementAtOrDefault(at)}\n  second: {second.Trace.ElementAtOrDefault(at)}\n" +
                    $"  outcomes: [{string.Join(" | ", first.Outcome)}] vs [{string.Join(" | ", second.Outcome)}]");
            }
            else
            {
                Assert.That(first.Outcome[^1], Is.EqualTo("RanToCompletion"), $"seed {seed}: " + string.Join(" | ", first.Outcome) + "\n" + string.Join("\n", first.Trace.TakeLast(40)));
                Assert.That(first.Trace, Has.Some.Contains("partition client|server"));
            }
        }

        Assert.That(differing, Is.Empty, string.Join("\n", differing));
    }

    /// <summary>The example in <see cref="SimulatedNetwork"/>'s XML docs, as written there.</summary>
    private static IReadOnlyList<string> DocumentedExample(int seed)
    {
        using var network = new SimulatedNetwork(seed);
        network.Host("server").Listen(7, async (reader, writer) =>
        {
            await foreach (var line in reader.ReadLinesAsync())
            {
                writer.Write(line.Span);
                await writer.DrainAsync();
            }
        });
        network.At(TimeSpan.FromMilliseconds(5), () => network.Partition("client", "server"));
        network.At(TimeSpan.FromSeconds(2), () => network.Heal("client", "server"));
        var client = network.Spawn(async () =>
        {
            await using var connection = await network.Host("client").ConnectAsync("server", 7);
            for (int i = 0; i < 3; i++)
            {
                connection.Writer.WriteLine($"ping {i}");
                await connection.Reader.ReadLineAsync();
                await network.Delay(TimeSpan.FromMilliseconds(10));
            }
        });
        if (!network.RunUntil(() => client.IsCompleted, deadline: TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"seed {seed} hangs:\n{string.Join("\n", network.Trace)}");
        }

        Assert.That(client.Status, Is.EqualTo(TaskStatus.RanToCompletion), string.Join("\n", network.Trace));
        Assert.That(network.Errors, Is.Empty);
        return network.Trace;
    }

    [Test]
    public void DocumentedExample_SameSeed_SameTrace_ThroughAPartition()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var first = DocumentedExample(seed);
            Assert.That(first, Has.Some.Contains("partition client|server").And.Some.Contains("heal client|server"));
            Assert.That(DocumentedExample(seed), Is.EqualTo(first), $"seed {seed}");
        }
    }

    /// <summary>
    /// Runs of one seed on threads of their own, while other seeds run beside them: each network owns its thread, so
    /// the traces are those of the seed alone.
    /// </summary>
    [Test]
    public void SameSeed_OnParallelThreads_SameTraceAsAlone()
    {
        var alone = Enumerable.Range(0, 16).Select(static seed => Run(seed)).ToArray();
        var parallel = new (IReadOnlyList<string> Trace, IReadOnlyList<string> Outcome)[alone.Length];
        Parallel.For(0, alone.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, seed => parallel[seed] = Run(seed));

        for (int seed = 0; seed < alone.Length; seed++)
        {
            Assert.That(parallel[seed].Trace, Is.EqualTo(alone[seed].Trace), $"seed {seed}");
            Assert.That(parallel[seed].Outcome, Is.EqualTo(alone[seed].Outcome), $"seed {seed}");
        }
    }

    /// <summary>
    /// The thread pool kept busy by other work (what a parallel test run does): the network never looks at the pool, so
    /// runs are neither stalled nor changed by it.
    /// </summary>
    [Test]
    public void SameSeed_WhileTheThreadPoolIsBusy_SameTraceAsAlone()
    {
        var alone = Enumerable.Range(0, 8).Select(static seed => Run(seed)).ToArray();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a bound, should the test fail first
        var busy = Enumerable.Range(0, Environment.ProcessorCount + 2)
            .Select(_ => Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Thread.SpinWait(1000);
                }
            }))
            .ToArray();
        try
        {
            for (int seed = 0; seed < alone.Length; seed++)
            {
                var loaded = Run(seed);
                Assert.That(loaded.Trace, Is.EqualTo(alone[seed].Trace), $"seed {seed}");
                Assert.That(loaded.Outcome, Is.EqualTo(alone[seed].Outcome), $"seed {seed}");
            }
        }
        finally
        {
            stop.Cancel();
            Task.WaitAll(busy, TimeSpan.FromSeconds(10));
        }
    }

    [Test]
    public void DifferentSeeds_CutTheSameBytesDifferently()
    {
        var cuts = Enumerable.Range(0, 5).Select(static seed => string.Join(",", Run(seed).Trace.Where(static l => l.Contains(" bytes ", StringComparison.Ordinal)).Take(8))).ToHashSet();

        Assert.That(cuts, Has.Count.GreaterThan(1));
    }

    /// <summary>A bulk upload through small buffers (the writer pauses, the reader is slow) and a partition, traced.</summary>
    private static IReadOnlyList<string> RunBulk(int seed)
    {
        using var network = new SimulatedNetwork(seed, new SimulationOptions
        {
            SocketBufferSize = 2048,
            DefaultLink = new LinkSettings { BufferSize = 4096, SegmentSize = 700, Jitter = TimeSpan.FromMilliseconds(2), BytesPerSecond = 1_000_000 },
        });
        network.Host("sink").Listen(9, async (reader, writer) =>
        {
            long total = 0;
            while (true)
            {
                var chunk = await reader.ReadAsync(1500);
                if (chunk.IsEmpty)
                {
                    break;
                }

                total += chunk.Length;
                await network.Delay(TimeSpan.FromMilliseconds(1)); // a slow consumer
            }

            writer.WriteLine(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        network.At(TimeSpan.FromMilliseconds(20), () => network.Partition("source", "sink"));
        network.At(TimeSpan.FromMilliseconds(400), () => network.Heal("source", "sink"));
        var upload = network.Spawn(async () =>
        {
            await using var connection = await network.Host("source").ConnectAsync("sink", 9);
            for (int i = 0; i < 12; i++)
            {
                connection.Writer.Write(new byte[2500]);
                await connection.Writer.DrainAsync();
            }

            connection.Writer.WriteEof();
            return Encoding.ASCII.GetString((await connection.Reader.ReadLineAsync()).Span);
        });

        Assert.That(network.RunUntil(() => upload.IsCompleted, TimeSpan.FromSeconds(30)), Is.True, $"seed {seed} hangs");
        Assert.That(upload.Result, Is.EqualTo("30000\n"));
        return network.Trace;
    }

    [Test]
    public void SameSeedTwice_SameTrace_WithBackpressureAndAPartition()
    {
        for (int seed = 0; seed < 6; seed++)
        {
            var first = RunBulk(seed);
            Assert.That(RunBulk(seed), Is.EqualTo(first), $"seed {seed}");
        }
    }
}
