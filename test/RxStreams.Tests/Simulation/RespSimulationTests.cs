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
    [Test]
    public void RespSample_ThousandSeeds_NoHang_NoLostAcknowledgedWrite()
    {
        const int Seeds = 1000;
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        for (int seed = 0; seed < Seeds && failures.Count < 3; seed++)
        {
            var outcome = RespScenario.Run(seed, clients: 1, writesPerClient: 2);
            if (outcome.Failure is not null)
            {
                failures.Add(outcome.Describe());
            }
        }

        TestContext.Out.WriteLine($"{Seeds} seeds in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.That(failures, Is.Empty, string.Join("\n\n", failures));
    }

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
