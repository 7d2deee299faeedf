using NUnit.Framework;
using Microsoft.Reactive.Testing;
using RxStreams.Cli.Progress;

namespace RxStreams.Tests.Cli;

/// <summary>The progress display on a <see cref="TestScheduler"/>: what it writes, and when.</summary>
public class TransferProgressTests
{
    private const long MiB = 1024 * 1024;
    private static readonly long Tick = TimeSpan.FromMilliseconds(250).Ticks;

    [Test]
    public void Refresh_EveryPeriod_OnlyWhenTheCountMoved_FinalLineOnce()
    {
        var scheduler = new TestScheduler();
        var error = new StringWriter();
        using var progress = new TransferProgress(error, 4 * MiB, redrawInPlace: false, scheduler);

        progress.Add(MiB);
        scheduler.AdvanceBy(Tick);                // 250 ms: 1 MiB
        scheduler.AdvanceBy(Tick);                // 500 ms: nothing moved, nothing written
        progress.Add(MiB);
        scheduler.AdvanceBy(Tick);                // 750 ms: 2 MiB
        progress.Complete();                      // unchanged since the last refresh: not repeated
        scheduler.AdvanceBy(10 * Tick);           // the timer is gone

        Assert.That(Lines(error), Is.EqualTo(new[]
        {
            "1.0 MiB of 4.0 MiB (25%) at 4.0 MiB/s",
            "2.0 MiB of 4.0 MiB (50%) at 2.7 MiB/s",
        }));
    }

    [Test]
    public void ManySmallWrites_AtMostFourRefreshesASecond()
    {
        var scheduler = new TestScheduler();
        var error = new StringWriter();
        using var progress = new TransferProgress(error, null, redrawInPlace: false, scheduler);

        for (int ms = 10; ms <= 1000; ms += 10)
        {
            scheduler.AdvanceTo(TimeSpan.FromMilliseconds(ms).Ticks - 1);
            progress.Add(1024);
        }

        scheduler.AdvanceTo(TimeSpan.FromMilliseconds(1000).Ticks);

        Assert.That(Lines(error), Has.Length.EqualTo(4), error.ToString());
        Assert.That(Lines(error)[^1], Is.EqualTo("100.0 KiB sent at 100.0 KiB/s"));
    }

    [Test]
    public void Complete_AfterProgress_WritesTheLastFigures()
    {
        var scheduler = new TestScheduler();
        var error = new StringWriter();
        using var progress = new TransferProgress(error, 2 * MiB, redrawInPlace: false, scheduler);

        progress.Add(MiB);
        scheduler.AdvanceBy(Tick);
        progress.Add(MiB);
        scheduler.AdvanceBy(Tick / 2);
        progress.Complete();

        Assert.That(Lines(error), Is.EqualTo(new[] { "1.0 MiB of 2.0 MiB (50%) at 4.0 MiB/s", "2.0 MiB of 2.0 MiB (100%) at 5.3 MiB/s" }));
    }

    [Test]
    public void OnATerminal_RedrawsInPlace_PadsOverALongerLine_EndsTheLineOnce()
    {
        var scheduler = new TestScheduler();
        var error = new StringWriter();
        using var progress = new TransferProgress(error, null, redrawInPlace: true, scheduler);

        progress.Add(1000);
        scheduler.AdvanceBy(Tick);                // 250 ms: "1000 B sent at 3.9 KiB/s"
        scheduler.AdvanceBy(6 * Tick);            // nothing moved: nothing redrawn
        progress.Add(10);
        scheduler.AdvanceBy(Tick);                // 2 s: "1010 B sent at 505 B/s", shorter: padded over the old tail
        progress.Complete();                      // unchanged: only the line's end
        progress.Dispose();

        string first = "1000 B sent at 3.9 KiB/s";
        string second = "1010 B sent at 505 B/s";
        Assert.That(second, Has.Length.LessThan(first.Length));
        Assert.That(error.ToString(), Is.EqualTo($"\r{first}\r{second.PadRight(first.Length)}{Environment.NewLine}"));
    }

    [Test]
    public void DisposedWithoutComplete_OnATerminal_EndsTheLine_ThenWritesNothing()
    {
        var scheduler = new TestScheduler();
        var error = new StringWriter();
        var progress = new TransferProgress(error, null, redrawInPlace: true, scheduler);

        progress.Add(10);
        scheduler.AdvanceBy(Tick);
        progress.Dispose();
        progress.Add(10);
        scheduler.AdvanceBy(4 * Tick);
        progress.Complete();

        Assert.That(error.ToString(), Is.EqualTo($"\r10 B sent at 40 B/s{Environment.NewLine}"));
    }

    [TestCase(0L, 1024L, 0L, "0 B of 1.0 KiB (0%)")]
    [TestCase(1536L, null, 1000L, "1.5 KiB sent at 1.5 KiB/s")]
    [TestCase(5L * 1024 * 1024 * 1024, 10L * 1024 * 1024 * 1024, 2000L, "5.0 GiB of 10.0 GiB (50%) at 2.5 GiB/s")]
    [TestCase(10L, 0L, 0L, "10 B sent")]
    public void Describe_FormatsCountTotalAndRate(long sent, long? total, long elapsedMs, string expected) =>
        Assert.That(TransferProgress.Describe(sent, total, TimeSpan.FromMilliseconds(elapsedMs)), Is.EqualTo(expected));

    [TestCase(0d, "0 B")]
    [TestCase(1023d, "1023 B")]
    [TestCase(1024d, "1.0 KiB")]
    [TestCase(3d * 1024 * 1024, "3.0 MiB")]
    public void ByteSize_UsesBinaryUnits(double bytes, string expected) => Assert.That(ByteSize.Format(bytes), Is.EqualTo(expected));

    private static string[] Lines(StringWriter error) => error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
}
