namespace RxStreams.Diagnostics;

/// <summary>
/// The names under which RxStreams publishes its traces: one <see cref="System.Diagnostics.ActivitySource"/>,
/// <c>RxStreams</c>, picked up by OpenTelemetry with <c>AddSource(RxStreamsTracing.ActivitySourceName)</c> or by an
/// <see cref="System.Diagnostics.ActivityListener"/>.
/// </summary>
/// <remarks>
/// <para>
/// Spans follow connection-level events only (connect, accept, PROXY header, TLS handshake, close); nothing is traced
/// per chunk or per frame, and with no listener no <see cref="System.Diagnostics.Activity"/> is created at all.
/// </para>
/// <para>
/// An accepted connection is a root span, <see cref="Connection"/> (kind <c>Server</c>), from the accept to the close;
/// its child <see cref="Accept"/> lasts until the connection is handed to the handler, and the set-up steps,
/// <see cref="ProxyHeader"/> and <see cref="TlsHandshake"/>, are children of <see cref="Accept"/>. A client's
/// <see cref="Connect"/> (kind <c>Client</c>, a child of the caller's current activity) covers the name resolution,
/// the connect and the TLS handshake, its child; once connected, a <see cref="Connection"/> span (kind <c>Client</c>)
/// beside it lasts until the close. A failed step or a connection that ended with an error has status <c>Error</c> and an
/// <c>error.type</c> tag.
/// </para>
/// <para>
/// Tags follow OpenTelemetry's network semantic conventions: <c>network.transport</c> (<c>tcp</c>, <c>unix</c>),
/// <c>network.type</c> (<c>ipv4</c>, <c>ipv6</c>), <c>network.peer.address</c>/<c>network.peer.port</c> and
/// <c>network.local.address</c>/<c>network.local.port</c> (the socket's ends), <c>server.address</c>/<c>server.port</c>
/// (the host name and port a client asked for; the local end on a server), <c>client.address</c>/<c>client.port</c>
/// on a server (the client a PROXY header names, else the peer); a TLS handshake adds <c>tls.protocol.name</c>,
/// <c>tls.protocol.version</c>, <c>tls.cipher</c>, <c>tls.server.name</c>, <c>tls.next_protocol</c> and
/// <c>tls.established</c>.
/// </para>
/// </remarks>
public static class RxStreamsTracing
{
    /// <summary>The activity source's name: <c>RxStreams</c> (the same as the meter's).</summary>
    public const string ActivitySourceName = "RxStreams";

    /// <summary>A client connecting: resolution, connect and TLS handshake (kind <c>Client</c>).</summary>
    public const string Connect = "rxstreams.connect";

    /// <summary>A connection's lifetime, from the accept or connect to the close (kind <c>Server</c> or <c>Client</c>).</summary>
    public const string Connection = "rxstreams.connection";

    /// <summary>A server's accepted connection until it is handed to the handler, set-up steps included.</summary>
    public const string Accept = "rxstreams.accept";

    /// <summary>A server reading a connection's PROXY protocol header.</summary>
    public const string ProxyHeader = "rxstreams.proxy_protocol";

    /// <summary>A TLS handshake (client, server, or STARTTLS).</summary>
    public const string TlsHandshake = "rxstreams.tls.handshake";
}
