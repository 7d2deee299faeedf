using System.Reactive.Concurrency;
using RxStreams.Internal;

namespace RxStreams.Cli;

/// <summary>
/// Prints a server's <see cref="StreamServer.Errors"/> (refused PROXY headers, failed TLS handshakes, failed handlers) on
/// standard error, one line each, escaped (a message may quote the peer), and bounded: of each kind of error only the
/// first per 10 s is printed, the others as one "N more similar errors" line (when the next one comes after the
/// interval, or at <see cref="Flush"/>), so that misbehaving peers cannot flood the terminal.
/// </summary>
internal sealed class ServerErrorLog(TextWriter output, IScheduler clock)
{
    private readonly LogAggregator _aggregator = new(clock, LogAggregator.DefaultInterval);

    /// <summary>Prints <paramref name="error"/>, or counts it when its kind was printed in the current interval.</summary>
    public void Write(Exception error)
    {
        if (!_aggregator.ShouldLog(error.GetType().Name, out var ended))
        {
            return;
        }

        if (ended is { } summary)
        {
            WriteSummary(summary);
        }

        output.WriteLine($"rxstreams: {PeerText.OneLine(error.Message)}");
    }

    /// <summary>Prints the summaries still owed (for the server's close).</summary>
    public void Flush()
    {
        foreach (var summary in _aggregator.Drain())
        {
            WriteSummary(summary);
        }
    }

    private void WriteSummary(SuppressedEvents summary) =>
        output.WriteLine($"rxstreams: {summary.Count} more similar errors ({summary.Kind}) in the last {Math.Ceiling(summary.Span.TotalSeconds):0} s");
}
