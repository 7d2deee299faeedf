using System.Diagnostics;
using System.Globalization;
using RxStreams.Benchmarks.Baselines;
using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>
/// <c>--smoke</c>: a quick check, without BenchmarkDotNet, that every server in <see cref="EchoServerCatalog"/>
/// echoes correctly under every client scenario (content verified byte for byte) and shuts down cleanly.
/// The rates it prints come from one short run each and are only a sanity check, not measurements.
/// Returns 0 when everything passed, 1 otherwise.
/// </summary>
internal static class SmokeTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(TextWriter output)
    {
        var failures = 0;
        output.WriteLine($"{"server",-14} {"scenario",-28} {"count",12} {"elapsed",10} {"rate",16}");
        foreach (var (name, startAsync) in EchoServerCatalog.All)
        {
            foreach (var mode in new[] { EchoMode.Lines, EchoMode.Bulk })
            {
                IEchoServer server;
                try
                {
                    server = await startAsync(mode);
                }
                catch (Exception e)
                {
                    output.WriteLine($"{name,-14} start ({mode}) FAILED: {e}");
                    failures++;
                    continue;
                }

                foreach (var (scenario, unit, run) in Scenarios(mode))
                {
                    try
                    {
                        var watch = Stopwatch.StartNew();
                        var count = await run(server.Port);
                        watch.Stop();
                        var rate = count / watch.Elapsed.TotalSeconds;
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{name,-14} {scenario,-28} {count,12:N0} {watch.Elapsed.TotalMilliseconds,8:F0}ms {rate,12:N0} {unit}/s"));
                    }
                    catch (Exception e)
                    {
                        output.WriteLine($"{name,-14} {scenario,-28} FAILED: {e}");
                        failures++;
                    }
                }

                try
                {
                    await server.DisposeAsync().AsTask().WaitAsync(Timeout);
                }
                catch (Exception e)
                {
                    output.WriteLine($"{name,-14} dispose ({mode}) FAILED: {e}");
                    failures++;
                }
            }
        }

        failures += CheckFraming(output);
        output.WriteLine(failures == 0 ? "Smoke test passed." : $"Smoke test FAILED: {failures} failure(s).");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// Runs every framing benchmark's setup for every parameter combination: the setup runs each variant once and
    /// checks that it framed every byte into the expected number of frames.
    /// </summary>
    private static int CheckFraming(TextWriter output)
    {
        var failures = 0;
        foreach (var create in new Func<FramingBenchmarkBase>[] { () => new LineFramingBenchmarks(), () => new SeparatorFramingBenchmarks(), () => new ExactFramingBenchmarks(), () => new LengthPrefixedFramingBenchmarks() })
        {
            var failuresBefore = failures;
            foreach (var frameSize in new[] { 16, 64, 1024 })
            {
                foreach (var chunkSize in new[] { 4096, 65536 })
                {
                    var benchmark = create();
                    benchmark.FrameSize = frameSize;
                    benchmark.ChunkSize = chunkSize;
                    try
                    {
                        switch (benchmark)
                        {
                            case LineFramingBenchmarks lines: lines.Setup(); break;
                            case SeparatorFramingBenchmarks separators: separators.Setup(); break;
                            case ExactFramingBenchmarks exact: exact.Setup(); break;
                            case LengthPrefixedFramingBenchmarks lengthPrefixed: lengthPrefixed.Setup(); break;
                        }
                    }
                    catch (Exception e)
                    {
                        output.WriteLine($"{benchmark.GetType().Name} FrameSize={frameSize} ChunkSize={chunkSize} FAILED: {e}");
                        failures++;
                    }
                }
            }

            output.WriteLine($"{create().GetType().Name,-32} every variant framed all {FramingBenchmarkBase.Frames} frames ({(failures == failuresBefore ? "ok" : "FAILED")})");
        }

        return failures;
    }

    /// <summary>The client runs for one server mode: name, unit of the count, and the run itself.</summary>
    private static IEnumerable<(string Name, string Unit, Func<int, Task<long>> Run)> Scenarios(EchoMode mode)
    {
        if (mode == EchoMode.Bulk)
        {
            var bulk = new BulkClient { Timeout = Timeout, VerifyContent = true };
            // The odd size makes the last chunk partial; the warm-up keeps JIT time out of the printed rate.
            yield return ("bulk warm-up 1 MiB", "MiB", async port => await bulk.RunAsync(port, 1 << 20, default) >> 20);
            yield return ("bulk 64 MiB + 1000 B", "MiB", async port => (await bulk.RunAsync(port, (64L << 20) + 1000, default)) >> 20);
            yield break;
        }

        var lines = new LineEchoClient { Timeout = Timeout, VerifyContent = true };
        yield return ("lines split across reads", "lines", port => FragmentedLinesAsync(port, lines: 40));
        yield return ("line warm-up 1x64", "lines", port => lines.RunAsync(port, 1, 64, 5_000, default));
        yield return ("line echo 1 conn x 64", "lines", port => lines.RunAsync(port, 1, 64, 100_000, default));
        yield return ("line echo 50 conn x 16", "lines", port => lines.RunAsync(port, 50, 16, 100_003, default));
        var pingPong = new PingPongClient { Timeout = Timeout, VerifyContent = true };
        yield return ("ping-pong", "round trips", port => pingPong.RunAsync(port, 2_000, default));
        var longLines = new BulkClient(EchoPayload.LongLines(LoadShapes.LongLineLength, BulkClient.ChunkSize / LoadShapes.LongLineLength))
        {
            Timeout = Timeout,
            VerifyContent = true,
        };
        yield return ("bulk 16 KiB lines, 32 MiB", "MiB", async port => (await longLines.RunAsync(port, 32L << 20, default)) >> 20);
        var connect = new ConnectRateClient { Timeout = Timeout, VerifyContent = true };
        yield return ("connect rate", "connections", port => connect.RunAsync(port, 500, default));
    }

    /// <summary>
    /// Sends lines in 37-byte pieces with pauses between them, so the server sees partial lines and lines
    /// that span reads, which the throughput clients (whole lines per send) rarely produce.
    /// </summary>
    private static Task<long> FragmentedLinesAsync(int port, int lines) =>
        Deadline.RunAsync("Fragmented lines", Timeout, async ct =>
        {
            using var socket = await LoopbackConnector.ConnectAsync(port, ct);
            var sent = EchoPayload.Lines(lines);
            for (var offset = 0; offset < sent.Length; offset += 37)
            {
                await LoopbackConnector.SendAllAsync(socket, sent.AsMemory(offset, Math.Min(37, sent.Length - offset)), ct);
                await Task.Delay(1, ct);
            }

            var echoed = new byte[sent.Length];
            await PingPongClient.ReceiveExactlyAsync(socket, echoed, ct);
            if (!echoed.AsSpan().SequenceEqual(sent))
            {
                throw new InvalidDataException("Lines sent in pieces were not echoed intact.");
            }

            return (long)lines;
        }, CancellationToken.None);
}
