using RxStreams.Samples.Resp;
using RxStreams.Testing;

namespace RxStreams.Tests.Simulation;

/// <summary>
/// The RESP sample server on host "db", clients on "app1" and "app2" that SET keys through random partitions, resets,
/// refused connects and crashes of "db", reconnecting with backoff; then a checker GETs every acknowledged key.
/// Invariants: every client finishes before the virtual deadline (nothing hangs), and no acknowledged write is lost.
/// </summary>
internal static class RespScenario
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public sealed record Outcome(int Seed, string? Failure, IReadOnlyList<string> Trace, IReadOnlyList<string> Events)
    {
        public string Describe() =>
            $"seed {Seed}: {Failure}\nreplay: RespScenario.Run({Seed})\nclient events:\n  {string.Join("\n  ", Events)}\nnetwork trace (last 60 lines):\n  {string.Join("\n  ", Trace.TakeLast(60))}";
    }

    /// <summary>Simulated code that ran off the network's thread makes the run timing-dependent: a failure of its own.</summary>
    public static string? Escapes(SimulatedNetwork network) =>
        network.Errors.FirstOrDefault(static e => e is InvalidOperationException && e.Message.Contains("simulation's thread", StringComparison.Ordinal)) is { } escape
            ? "simulated code left the network's thread: " + escape.Message
            : null;

    private static Outcome Checked(SimulatedNetwork network, Outcome outcome) =>
        Escapes(network) is { } escape ? outcome with { Failure = escape } : outcome;

    public static Outcome Run(int seed, int clients = 2, int writesPerClient = 3)
    {
        using var network = new SimulatedNetwork(seed, new SimulationOptions
        {
            DefaultLink = new LinkSettings { Latency = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(4), SegmentSize = 16 },
        });
        var store = new RespStore();
        network.Host("db").Listen(6379, connection => RespConnection.Serve(connection, store));
        var events = new List<string>();
        var acknowledged = new Dictionary<string, string>();
        for (int i = 1; i <= clients; i++)
        {
            network.Host("app" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        network.InjectRandomFaults(new RandomFaults { Count = 3, Until = TimeSpan.FromSeconds(2), MaxDuration = TimeSpan.FromSeconds(2), Crashes = true });
        var writers = Enumerable.Range(1, clients).Select(i => network.Spawn(async () =>
        {
            using var client = new ReconnectingClient(network, $"app{i}", "db", 6379);
            for (int n = 0; n < writesPerClient; n++)
            {
                string key = $"k{i}.{n}", value = $"v{seed}.{i}.{n}";
                var reply = await client.ExchangeAsync((c, ct) => RespClient.SetAsync(c, key, value, ct), Deadline / 2);
                lock (acknowledged)
                {
                    events.Add($"{network.Now.TotalMilliseconds:0.###}ms app{i} SET {key} -> {reply}");
                    if (reply == "OK" || reply == "+OK")
                    {
                        acknowledged[key] = value;
                    }
                }
            }

            lock (acknowledged)
            {
                events.AddRange(client.Failures.Select(f => $"app{i} failure at {f}"));
            }
        })).ToArray();

        if (!network.RunUntil(() => writers.All(static w => w.IsCompleted), Deadline))
        {
            return Checked(network, new Outcome(seed, $"a client hangs past the virtual deadline {Deadline}", network.Trace, events));
        }

        if (writers.FirstOrDefault(static w => w.IsFaulted) is { } failed)
        {
            return Checked(network, new Outcome(seed, "a client failed: " + failed.Exception!.InnerException, network.Trace, events));
        }

        // Every fault is over by now (they strike before 2 s and last at most 2 s): read everything back.
        network.RunUntil(TimeSpan.FromSeconds(5));
        var check = network.Spawn(async () =>
        {
            using var client = new ReconnectingClient(network, "checker", "db", 6379);
            var found = new List<string>();
            foreach (var (key, value) in acknowledged.OrderBy(static p => p.Key, StringComparer.Ordinal))
            {
                var read = await client.ExchangeAsync((c, ct) => RespClient.GetAsync(c, key, ct), network.Now + Deadline);
                if (read != value)
                {
                    found.Add($"{key}: acknowledged '{value}', read '{read ?? "(nil)"}'");
                }
            }

            return found;
        });
        if (!network.RunUntil(() => check.IsCompleted, network.Now + Deadline))
        {
            return Checked(network, new Outcome(seed, "the checker hangs past the virtual deadline", network.Trace, events));
        }

        if (check.IsFaulted)
        {
            return Checked(network, new Outcome(seed, "the checker failed: " + check.Exception!.InnerException, network.Trace, events));
        }

        return Checked(network, check.Result.Count > 0
            ? new Outcome(seed, "lost acknowledged writes: " + string.Join("; ", check.Result), network.Trace, events)
            : new Outcome(seed, null, network.Trace, events));
    }
}
