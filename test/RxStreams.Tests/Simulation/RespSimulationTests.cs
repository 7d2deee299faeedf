using System.Diagnostics;
using NUnit.Framework;

namespace RxStreams.Tests.Simulation;

/// <summary>
/// The RESP sample as a whole system on the simulated network: many seeds, each a different run of latencies, segment
/// cuts and faults, each checked for hangs and lost acknowledged writes; a failing seed is named and replays.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class RespSimulationTests
{
    /// <summary>
    /// A thousand seeds, one after the other, each checked for hangs and lost acknowledged writes; then the same thousand
    /// again, four at a time on parallel threads (other networks' work in the same process at the same moment), each
    /// checked to trace exactly as it did alone.
    /// </summary>
    [Test]
    public void RespSample_ThousandSeeds_NoHang_NoLostAcknowledgedWrite_SameTraceWhenRunInParallel()
    {
        const int Seeds = 1000;
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        var alone = new string[Seeds];
        for (int seed = 0; seed < Seeds && failures.Count < 3; seed++)
        {
            var outcome = RespScenario.Run(seed, clients: 1, writesPerClient: 2);
            alone[seed] = Fingerprint(outcome);
            if (outcome.Failure is not null)
            {
                failures.Add(outcome.Describe());
            }
        }

        TestContext.Out.WriteLine($"{Seeds} seeds in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.That(failures, Is.Empty, string.Join("\n\n", failures));

        clock.Restart();
        var differing = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.For(0, Seeds, new ParallelOptions { MaxDegreeOfParallelism = 4 }, seed =>
        {
            if (Fingerprint(RespScenario.Run(seed, clients: 1, writesPerClient: 2)) != alone[seed])
            {
                differing.Add(seed);
            }
        });

        TestContext.Out.WriteLine($"{Seeds} seeds again, 4 in parallel, in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.That(differing.Order(), Is.Empty, "these seeds traced differently when run in parallel; replay one with RespScenario.Run(seed, 1, 2)");
    }

    private static string Fingerprint(RespScenario.Outcome outcome) =>
        string.Join("\n", outcome.Trace) + "\n--\n" + string.Join("\n", outcome.Events) + "\n--\n" + outcome.Failure;

    [Test]
    public void RespSample_TwoClients_FiftySeeds_NoHang_NoLostAcknowledgedWrite()
    {
        var failures = Enumerable.Range(5000, 50)
            .Select(static seed => RespScenario.Run(seed, clients: 2, writesPerClient: 4))
            .Where(static outcome => outcome.Failure is not null)
            .Take(3)
            .Select(static outcome => outcome.Describe())
            .ToList();

        Assert.That(failures, Is.Empty, string.Join("\n\n", failures));
    }

    [Test]
    public void RespSample_ASeed_ReplaysTheSameRun()
    {
        var first = RespScenario.Run(42, clients: 2, writesPerClient: 3);
        var second = RespScenario.Run(42, clients: 2, writesPerClient: 3);

        Assert.That(first.Failure, Is.Null, first.Describe());
        Assert.That(second.Events, Is.EqualTo(first.Events));
        Assert.That(second.Trace, Is.EqualTo(first.Trace));
        Assert.That(first.Trace, Has.Some.Contains("bytes"), "the run carried data");
    }
}
