using System.Text.RegularExpressions;
using NUnit.Framework;
using RxStreams.Samples.Resp;
using RxStreams.Testing;
using RxStreams.Tests.Docs;

namespace RxStreams.Tests.Simulation;

/// <summary>
/// The README's seeded simulation test, verbatim between the markers (a test checks that the README shows exactly that
/// code), run as written: the RESP sample's server and a reconnecting client over 200 seeds with random faults.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public partial class ReadmeSimulationTests
{
    // --- README: simulation ---
    [Test]
    public void EverySeed_TheClientsWriteIsAcknowledged_BeforeTheDeadline()
    {
        for (int seed = 0; seed < 200; seed++)
        {
            using var network = new SimulatedNetwork(seed);
            network.Host("db").Listen(6379, connection => RespConnection.Serve(connection, new RespStore()));
            network.InjectRandomFaults(new RandomFaults { Count = 3, Until = TimeSpan.FromSeconds(2) });
            var client = network.Spawn(() => SetWithRetries(network, "app", "db", 6379)); // your client
            bool done = network.RunUntil(() => client.IsCompleted, deadline: TimeSpan.FromSeconds(60));
            if (!done || !client.IsCompletedSuccessfully || client.Result != "+OK")
            {
                Assert.Fail($"seed {seed} fails (and replays the same run):\n{string.Join("\n", network.Trace)}");
            }
        }
    }
    // --- end ---

    /// <summary>The client of the example: SET k v until the server acknowledges it, reconnecting with backoff.</summary>
    private static async Task<string> SetWithRetries(SimulatedNetwork network, string host, string server, int port)
    {
        using var client = new ReconnectingClient(network, host, server, port);
        return await client.ExchangeAsync((connection, ct) => RespClient.SetAsync(connection, "k", "v", ct), TimeSpan.FromSeconds(30));
    }

    [Test]
    public void ReadmeShowsTheExample_Verbatim()
    {
        var snippet = RepositoryFiles.ReadmeSnippetAfter("### Whole systems on a simulated network, from a seed");
        var source = RepositoryFiles.Read("test", "RxStreams.Tests", "Simulation", "ReadmeSimulationTests.cs");
        int from = source.IndexOf("// --- README: simulation ---\n", StringComparison.Ordinal) + "// --- README: simulation ---\n".Length;
        var example = Indentation().Replace(source[from..source.IndexOf("    // --- end ---", from, StringComparison.Ordinal)], "");

        Assert.That(snippet, Is.EqualTo(example), "the README's simulation example must be the test in ReadmeSimulationTests.cs, which runs");
    }


    [GeneratedRegex("^    ", RegexOptions.Multiline)]
    private static partial Regex Indentation();
}
