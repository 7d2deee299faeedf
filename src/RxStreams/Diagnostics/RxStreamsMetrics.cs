namespace RxStreams.Diagnostics;

/// <summary>
/// The names under which RxStreams publishes its <see cref="System.Diagnostics.Metrics.Meter"/>, in OpenTelemetry's
/// naming style, so a <c>MeterListener</c> or OpenTelemetry (<c>AddMeter(RxStreamsMetrics.MeterName)</c>) can pick them up.
/// </summary>
/// <remarks>
/// <para>
/// Connection instruments carry the tag <c>network.transport</c> (<c>tcp</c>, <c>unix</c> or <c>memory</c>, as in
/// OpenTelemetry's network conventions); a server's connections and TLS handshakes also carry <c>server.address</c> and
/// <c>server.port</c> (the local end they were accepted on; a Unix socket's path and no port). Byte and frame counters
/// carry no tags: they are on the per-chunk path, and with no listener attached each costs one branch. Frames are
/// counted per received chunk, not per frame.
/// </para>
/// <para>
/// Durations are in seconds, OpenTelemetry's unit for them, with bucket advice (<c>InstrumentAdvice</c>) suited to each
/// histogram, which OpenTelemetry's SDK uses unless a view overrides it: connections 0.01 s to 1 h
/// (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600); TLS handshakes 1 ms to 10 s
/// (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10), so milliseconds are resolved
/// while the unit stays the convention's; backpressure pauses 0.1 ms to 60 s
/// (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60).
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

    /// <summary>How long connections lived, from open to close (histogram, seconds, 0.01 s to 1 h buckets, tagged <c>network.transport</c>).</summary>
    public const string ConnectionDuration = "rxstreams.connection.duration";

    /// <summary>Bytes received from peers (counter, <c>By</c>).</summary>
    public const string BytesReceived = "rxstreams.io.received";

    /// <summary>Bytes handed to the operating system for sending (counter, <c>By</c>).</summary>
    public const string BytesSent = "rxstreams.io.sent";

    /// <summary>Frames emitted by the framing operators and pull methods (counter, <c>{frame}</c>).</summary>
    public const string Frames = "rxstreams.frames.decoded";

    /// <summary>Frames over their limit, failed or skipped by the overflow policy (counter, <c>{frame}</c>).</summary>
    public const string LimitOverruns = "rxstreams.frames.limit_overruns";

    /// <summary>TLS handshakes' durations (histogram, seconds; tagged <c>error.type</c> when one failed, and <c>server.address</c>/<c>server.port</c> on a server).</summary>
    public const string TlsHandshakeDuration = "rxstreams.tls.handshake.duration";

    /// <summary>Accepts that failed and that the server survived (counter, <c>{error}</c>, tagged <c>error.type</c>).</summary>
    public const string AcceptErrors = "rxstreams.server.accept_errors";

    /// <summary>
    /// Flow control: how long a push reader (<c>reader.Subscribe</c>, framing operators) stayed paused because the
    /// writers its chunk filled were above their high-water marks, until they drained to their low-water marks
    /// (histogram, seconds, untagged). A reader that never pauses records nothing.
    /// </summary>
    public const string ReaderPausedDuration = "rxstreams.reader.paused.duration";

    /// <summary>
    /// Flow control: writes refused because they would pass <see cref="ConnectionOptions.MaxWriteBufferSize"/> (counter,
    /// <c>{write}</c>, tagged <c>rxstreams.overflow.policy</c>: <c>fail_connection</c> or <c>reject_write</c>).
    /// </summary>
    public const string WriteBufferOverflows = "rxstreams.writer.buffer_overflows";
}
