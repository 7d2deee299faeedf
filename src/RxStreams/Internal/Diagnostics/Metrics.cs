using System.Diagnostics;
using System.Diagnostics.Metrics;
using RxStreams.Diagnostics;

namespace RxStreams.Internal;

/// <summary>The library's one <see cref="Meter"/> and its instruments (names in <see cref="RxStreamsMetrics"/>).</summary>
/// <remarks>
/// Every method checks <see cref="Instrument.Enabled"/> first, so with no listener the hot paths pay a branch and no
/// tag arrays are built.
/// </remarks>
internal static class Metrics
{
    // Bucket advice (seconds, OpenTelemetry's unit for durations), documented in RxStreamsMetrics. The defaults
    // (0, 5, 10, ... 10000) would put every connection under 5 s, and every handshake, in one bucket.
    private static readonly double[] ConnectionDurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
    private static readonly double[] TlsHandshakeDurationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10];
    private static readonly double[] ReaderPausedDurationBuckets = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60];

    private static readonly Meter Meter = new(RxStreamsMetrics.MeterName, typeof(Metrics).Assembly.GetName().Version?.ToString(3));

    private static readonly UpDownCounter<long> Active = Meter.CreateUpDownCounter<long>(
        RxStreamsMetrics.ActiveConnections, "{connection}", "Connections open now.");

    private static readonly Counter<long> Opened = Meter.CreateCounter<long>(
        RxStreamsMetrics.OpenedConnections, "{connection}", "Connections opened, accepted or connected.");

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        RxStreamsMetrics.ConnectionDuration, "s", "How long connections lived.", tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = ConnectionDurationBuckets });

    private static readonly Counter<long> Received = Meter.CreateCounter<long>(
        RxStreamsMetrics.BytesReceived, "By", "Bytes received from peers.");

    private static readonly Counter<long> Sent = Meter.CreateCounter<long>(
        RxStreamsMetrics.BytesSent, "By", "Bytes handed to the operating system for sending.");

    private static readonly Counter<long> FrameCount = Meter.CreateCounter<long>(
        RxStreamsMetrics.Frames, "{frame}", "Frames emitted by framing operators and pull methods.");

    private static readonly Counter<long> Overruns = Meter.CreateCounter<long>(
        RxStreamsMetrics.LimitOverruns, "{frame}", "Frames over their limit, failed or skipped.");

    private static readonly Histogram<double> TlsHandshake = Meter.CreateHistogram<double>(
        RxStreamsMetrics.TlsHandshakeDuration, "s", "TLS handshake durations.", tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = TlsHandshakeDurationBuckets });

    private static readonly Histogram<double> ReaderPaused = Meter.CreateHistogram<double>(
        RxStreamsMetrics.ReaderPausedDuration, "s", "Time a push reader spent paused by backpressure, waiting for the writers it filled to drain.", tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = ReaderPausedDurationBuckets });

    private static readonly Counter<long> Overflows = Meter.CreateCounter<long>(
        RxStreamsMetrics.WriteBufferOverflows, "{write}", "Writes refused because they would pass the write buffer cap.");

    private static readonly Counter<long> AcceptFailures = Meter.CreateCounter<long>(
        RxStreamsMetrics.AcceptErrors, "{error}", "Accepts that failed and that the server survived.");

    /// <summary>
    /// The tags of <paramref name="channel"/>'s connection instruments: <c>network.transport</c>, and on a server's
    /// connection <c>server.address</c>/<c>server.port</c> (its local end). <see langword="null"/> when no connection
    /// instrument is listened to.
    /// </summary>
    public static KeyValuePair<string, object?>[]? ConnectionTags(IByteChannel channel, bool isServer)
    {
        if (!Active.Enabled && !Opened.Enabled && !Duration.Enabled)
        {
            return null;
        }

        return isServer
            ? MetricTags.Server(channel.NetworkTransport, channel.LocalEndPoint)
            : MetricTags.Client(channel.NetworkTransport);
    }

    /// <summary>A connection opened; returns its start timestamp (0 when nobody listens for durations).</summary>
    public static long ConnectionOpened(KeyValuePair<string, object?>[]? tags)
    {
        if (tags is null)
        {
            return 0;
        }

        if (Active.Enabled)
        {
            Active.Add(1, tags);
        }

        if (Opened.Enabled)
        {
            Opened.Add(1, tags);
        }

        return Duration.Enabled ? Stopwatch.GetTimestamp() : 0;
    }

    /// <summary>A connection opened with <see cref="ConnectionOpened"/> closed.</summary>
    public static void ConnectionClosed(KeyValuePair<string, object?>[]? tags, long openedAt)
    {
        if (tags is null)
        {
            return;
        }

        if (Active.Enabled)
        {
            Active.Add(-1, tags);
        }

        if (openedAt != 0 && Duration.Enabled)
        {
            Duration.Record(Stopwatch.GetElapsedTime(openedAt).TotalSeconds, tags);
        }
    }

    public static void BytesReceived(int count)
    {
        if (Received.Enabled)
        {
            Received.Add(count);
        }
    }

    public static void BytesSent(int count)
    {
        if (Sent.Enabled)
        {
            Sent.Add(count);
        }
    }

    public static void FramesDecoded(int count)
    {
        if (count > 0 && FrameCount.Enabled)
        {
            FrameCount.Add(count);
        }
    }

    public static void LimitOverrun()
    {
        if (Overruns.Enabled)
        {
            Overruns.Add(1);
        }
    }

    /// <summary>A TLS handshake of <paramref name="connection"/> that started at <paramref name="startedAt"/> (<see cref="Stopwatch.GetTimestamp"/>) ended.</summary>
    public static void TlsHandshakeEnded(StreamConnection connection, long startedAt, Exception? error)
    {
        if (!TlsHandshake.Enabled)
        {
            return;
        }

        double seconds = Stopwatch.GetElapsedTime(startedAt).TotalSeconds;
        var tags = new TagList();
        if (connection.Options is ServerOptions)
        {
            foreach (var tag in MetricTags.Server(connection.Core.Channel.NetworkTransport, connection.Core.Channel.LocalEndPoint))
            {
                tags.Add(tag);
            }
        }

        if (error is not null)
        {
            tags.Add("error.type", error.GetType().FullName);
        }

        TlsHandshake.Record(seconds, tags);
    }

    /// <summary>A push reader starts waiting for the writers it filled; returns the timestamp to pass to <see cref="ReaderResumed"/> (0 when nobody listens).</summary>
    public static long ReaderPausing() => ReaderPaused.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>The wait started by <see cref="ReaderPausing"/> ended.</summary>
    public static void ReaderResumed(long pausedAt)
    {
        if (pausedAt != 0 && ReaderPaused.Enabled)
        {
            ReaderPaused.Record(Stopwatch.GetElapsedTime(pausedAt).TotalSeconds);
        }
    }

    /// <summary>A write would have passed the write buffer cap; tagged with what the policy did.</summary>
    public static void WriteBufferOverflow(WriteBufferOverflowPolicy policy)
    {
        if (Overflows.Enabled)
        {
            Overflows.Add(1, new KeyValuePair<string, object?>(
                "rxstreams.overflow.policy", policy == WriteBufferOverflowPolicy.FailConnection ? "fail_connection" : "reject_write"));
        }
    }

    /// <summary>An accept on <paramref name="listener"/> failed; tagged with the listening end, as the connection instruments are.</summary>
    public static void AcceptError(Exception error, Listener listener)
    {
        if (AcceptFailures.Enabled)
        {
            var tags = new TagList(MetricTags.Server(listener.IsTcp ? "tcp" : "unix", listener.EndPoint)) { { "error.type", ErrorType(error) } };
            AcceptFailures.Add(1, tags);
        }
    }

    private static string ErrorType(Exception error) =>
        error is System.Net.Sockets.SocketException socketError ? socketError.SocketErrorCode.ToString() : error.GetType().FullName ?? "unknown";

    // Connection policies (per-client limits): connections the server refused.
    internal const string RejectedConnectionsName = "rxstreams.server.connections.rejected";

    private static readonly Counter<long> Rejected = Meter.CreateCounter<long>(
        RejectedConnectionsName, "{connection}", "Connections refused by a connection policy (per-client limits).");

    /// <summary>A connection policy refused a connection; <paramref name="policy"/> names which.</summary>
    public static void ConnectionRejected(string policy)
    {
        if (Rejected.Enabled)
        {
            Rejected.Add(1, new KeyValuePair<string, object?>("rxstreams.policy", policy));
        }
    }
}
