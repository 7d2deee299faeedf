using System.Net;
using Microsoft.Extensions.Logging;
using RxStreams.Internal;

namespace RxStreams;

// How the server logs a connection's failure: escaped, and bounded in volume however many peers misbehave.
// The type's docs are in StreamServer.cs.
public sealed partial class StreamServer
{
    private const string SetupFailureKind = "connection setup failed: ";
    private const string HandlerFailureKind = "connection failed: ";

    private LogAggregator? _failureLog;

    /// <summary>
    /// Logs a failed connection: the first of each kind (setup or handler failure, by exception type) per
    /// <see cref="LogAggregator.DefaultInterval"/> in full, with its endpoint escaped (a PROXY header or a Unix socket path
    /// is the peer's text); the rest as one summary line. Every error still goes to <see cref="Errors"/>, one by one.
    /// </summary>
    private void LogConnectionFailure(bool duringSetup, EndPoint? remoteEndPoint, Exception error)
    {
        var level = duringSetup ? LogLevel.Debug : LogLevel.Error;
        if (!_logger.IsEnabled(level))
        {
            return;
        }

        var aggregator = LazyInitializer.EnsureInitialized(ref _failureLog, () => new LogAggregator(_options.Scheduler, LogAggregator.DefaultInterval));
        string kind = (duringSetup ? SetupFailureKind : HandlerFailureKind) + error.GetType().Name;
        if (!aggregator.ShouldLog(kind, out var ended))
        {
            return;
        }

        if (ended is { } summary)
        {
            LogSuppressed(summary);
        }

        string endPoint = PeerText.Escape(remoteEndPoint);
        if (duringSetup)
        {
            Log.SetupFailed(_logger, endPoint, error);
        }
        else
        {
            Log.ConnectionFailed(_logger, endPoint, error);
        }
    }

    /// <summary>At close: the summaries of failures counted since their kind was last logged, so none goes unmentioned.</summary>
    private void LogSuppressedConnectionFailures()
    {
        if (Volatile.Read(ref _failureLog) is { } aggregator)
        {
            foreach (var summary in aggregator.Drain())
            {
                LogSuppressed(summary);
            }
        }
    }

    private void LogSuppressed(SuppressedEvents summary)
    {
        var level = summary.Kind.StartsWith(SetupFailureKind, StringComparison.Ordinal) ? LogLevel.Debug : LogLevel.Error;
        long seconds = (long)Math.Ceiling(summary.Span.TotalSeconds);
        Log.SuppressedEvents(_logger, level, summary.Count, summary.Kind, seconds);
    }
}
