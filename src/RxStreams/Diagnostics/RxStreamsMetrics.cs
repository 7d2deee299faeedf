namespace RxStreams.Diagnostics;

/// <summary>
/// The names under which RxStreams publishes its <see cref="System.Diagnostics.Metrics.Meter"/>, in OpenTelemetry's
/// naming style, so a <c>MeterListener</c> or OpenTelemetry (<c>AddMeter(RxStreamsMetrics.MeterName)</c>) can pick them up.
/// </summary>
/// <remarks>
/// <para>
/// Connection instruments carry the tag <c>network.transport</c> (<c>tcp</c>, <c>unix</c> or <c>memory</c>, as in
/// OpenTelemetry's network conventions). Byte and frame counters carry no tags: they are on the per-chunk path, and
/// with no listener attached each costs one branch. Frames are counted per received chunk, not per frame.
/// </para>
/// <para>
/// Counts follow the events they describe: a chunk's frames are added once they have all been emitted, sent bytes once
/// the send completed, a connection's duration just after the active count drops. A peer can therefore see the echo of
/// a frame before a listener sees it counted; read the meter as eventually consistent, not as a barrier.
/// </para>
/// </remarks>
public static class RxStreamsMetrics
{
    /// <summary>The meter's name: <c>RxStreams</c>.</summary>
    public const string MeterName = "RxStreams";

    /// <summary>Connections open now (up-down counter, <c>{connection}</c>, tagged <c>network.transport</c>).</summary>
    public const string ActiveConnections = "rxstreams.connection.active";

    /// <summary>Connections opened in all, accepted or connected (counter, <c>{connection}</c>, tagged <c>network.transport</c>).</summary>
    public const string OpenedConnections = "rxstreams.connection.opened";

    /// <summary>How long connections lived, from open to close (histogram, seconds, tagged <c>network.transport</c>).</summary>
    public const string ConnectionDuration = "rxstreams.connection.duration";

    /// <summary>Bytes received from peers (counter, <c>By</c>).</summary>
    public const string BytesReceived = "rxstreams.io.received";

    /// <summary>Bytes handed to the operating system for sending (counter, <c>By</c>).</summary>
    public const string BytesSent = "rxstreams.io.sent";

    /// <summary>Frames emitted by the framing operators and pull methods (counter, <c>{frame}</c>).</summary>
    public const string Frames = "rxstreams.frames.decoded";

    /// <summary>Frames over their limit, failed or skipped by the overflow policy (counter, <c>{frame}</c>).</summary>
    public const string LimitOverruns = "rxstreams.frames.limit_overruns";

    /// <summary>TLS handshakes' durations (histogram, seconds; tagged <c>error.type</c> when one failed).</summary>
    public const string TlsHandshakeDuration = "rxstreams.tls.handshake.duration";

    /// <summary>Accepts that failed and that the server survived (counter, <c>{error}</c>, tagged <c>error.type</c>).</summary>
    public const string AcceptErrors = "rxstreams.server.accept_errors";
}
