using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Internal;

namespace RxStreams.Tests.Diagnostics;

/// <summary>
/// <see cref="LogAggregator"/> in virtual time: peers can cause at most two lines per kind and interval (the first event
/// in full, a summary of the rest), and no event goes uncounted.
/// </summary>
public class LogAggregatorTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    [Test]
    public void TenThousandEvents_InOneInterval_GiveOneLine_AndOneSummaryAtClose()
    {
        var clock = new TestScheduler();
        var aggregator = new LogAggregator(clock, Interval);
        int logged = 0;
        for (int i = 0; i < 10_000; i++)
        {
            if (aggregator.ShouldLog("setup failed: AuthenticationException", out var ended))
            {
                logged++;
                Assert.That(ended, Is.Null, "no earlier window to summarize");
            }

            clock.AdvanceBy(TimeSpan.FromMilliseconds(0.5).Ticks); // 10,000 events in 5 s
        }

        var owed = aggregator.Drain();
        Assert.That(logged, Is.EqualTo(1));
        Assert.That(owed, Has.Count.EqualTo(1));
        Assert.That(owed[0].Count, Is.EqualTo(9_999), "every event not logged is counted");
        Assert.That(owed[0].Kind, Is.EqualTo("setup failed: AuthenticationException"));
        Assert.That(aggregator.Drain(), Is.Empty, "a summary is given once");
    }

    [Test]
    public void EventsOverSeveralIntervals_OneFullLinePerInterval_TheSummaryComesWithTheNextEvent()
    {
        var clock = new TestScheduler();
        var aggregator = new LogAggregator(clock, Interval);
        var lines = new List<string>();
        int total = 10_000;
        for (int i = 0; i < total; i++)
        {
            if (aggregator.ShouldLog("bad", out var ended))
            {
                if (ended is { } summary)
                {
                    lines.Add($"summary {summary.Count} over {summary.Span.TotalSeconds} s");
                }

                lines.Add($"event {i}");
            }

            clock.AdvanceBy(TimeSpan.FromMilliseconds(2.5).Ticks); // 10,000 events over 25 s: windows at 0, 10 and 20 s
        }

        lines.AddRange(aggregator.Drain().Select(static s => $"summary {s.Count} at close"));

        Assert.That(lines, Is.EqualTo(new[]
        {
            "event 0", "summary 3999 over 10 s", "event 4000", "summary 3999 over 10 s", "event 8000", "summary 1999 at close",
        }));
    }

    [Test]
    public void Kinds_AreCountedApart_AndAnIsolatedEventIsNeverSummarized()
    {
        var clock = new TestScheduler();
        var aggregator = new LogAggregator(clock, Interval);

        Assert.That(aggregator.ShouldLog("a", out _), Is.True);
        Assert.That(aggregator.ShouldLog("b", out _), Is.True, "another kind has its own window");
        Assert.That(aggregator.ShouldLog("a", out _), Is.False);
        clock.AdvanceBy(Interval.Ticks);
        Assert.That(aggregator.ShouldLog("b", out var endedB), Is.True);
        Assert.That(endedB, Is.Null, "b had nothing suppressed");
        Assert.That(aggregator.ShouldLog("a", out var endedA), Is.True);
        Assert.That(endedA!.Value.Count, Is.EqualTo(1));
        Assert.That(aggregator.Drain(), Is.Empty);
    }
}
