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
    private static readonly Meter Meter = new(RxStreamsMetrics.MeterName, typeof(Metrics).Assembly.GetName().Version?.ToString(3));

    private static readonly UpDownCounter<long> Active = Meter.CreateUpDownCounter<long>(
        RxStreamsMetrics.ActiveConnections, "{connection}", "Connections open now.");

    private static readonly Counter<long> Opened = Meter.CreateCounter<long>(
        RxStreamsMetrics.OpenedConnections, "{connection}", "Connections opened, accepted or connected.");

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        RxStreamsMetrics.ConnectionDuration, "s", "How long connections lived.");

    private static readonly Counter<long> Received = Meter.CreateCounter<long>(
        RxStreamsMetrics.BytesReceived, "By", "Bytes received from peers.");

    private static readonly Counter<long> Sent = Meter.CreateCounter<long>(
        RxStreamsMetrics.BytesSent, "By", "Bytes handed to the operating system for sending.");

    private static readonly Counter<long> FrameCount = Meter.CreateCounter<long>(
        RxStreamsMetrics.Frames, "{frame}", "Frames emitted by framing operators and pull methods.");

    private static readonly Counter<long> Overruns = Meter.CreateCounter<long>(
        RxStreamsMetrics.LimitOverruns, "{frame}", "Frames over their limit, failed or skipped.");

    private static readonly Histogram<double> TlsHandshake = Meter.CreateHistogram<double>(
        RxStreamsMetrics.TlsHandshakeDuration, "s", "TLS handshake durations.");

    private static readonly Counter<long> AcceptFailures = Meter.CreateCounter<long>(
        RxStreamsMetrics.AcceptErrors, "{error}", "Accepts that failed and that the server survived.");

    /// <summary>A connection opened; returns its start timestamp (0 when nobody listens for durations).</summary>
    public static long ConnectionOpened(string transport)
    {
        var tag = new KeyValuePair<string, object?>("network.transport", transport);
        if (Active.Enabled)
        {
            Active.Add(1, tag);
        }

        if (Opened.Enabled)
        {
            Opened.Add(1, tag);
        }

        return Duration.Enabled ? Stopwatch.GetTimestamp() : 0;
    }

    /// <summary>A connection opened with <see cref="ConnectionOpened"/> closed.</summary>
    public static void ConnectionClosed(string transport, long openedAt)
    {
        var tag = new KeyValuePair<string, object?>("network.transport", transport);
        if (Active.Enabled)
        {
            Active.Add(-1, tag);
        }

        if (openedAt != 0 && Duration.Enabled)
        {
            Duration.Record(Stopwatch.GetElapsedTime(openedAt).TotalSeconds, tag);
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

    /// <summary>A TLS handshake that started at <paramref name="startedAt"/> (<see cref="Stopwatch.GetTimestamp"/>) ended.</summary>
    public static void TlsHandshakeEnded(long startedAt, Exception? error)
    {
        if (!TlsHandshake.Enabled)
        {
            return;
        }

        double seconds = Stopwatch.GetElapsedTime(startedAt).TotalSeconds;
        if (error is null)
        {
            TlsHandshake.Record(seconds);
        }
        else
        {
            TlsHandshake.Record(seconds, new KeyValuePair<string, object?>("error.type", error.GetType().FullName));
        }
    }

    public static void AcceptError(Exception error)
    {
        if (AcceptFailures.Enabled)
        {
            AcceptFailures.Add(1, new KeyValuePair<string, object?>("error.type", ErrorType(error)));
        }
    }

    private static string ErrorType(Exception error) =>
        error is System.Net.Sockets.SocketException socketError ? socketError.SocketErrorCode.ToString() : error.GetType().FullName ?? "unknown";

    // Connection policies (per-client limits): connections the server refused. Kept apart so other changes merge cleanly.
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
