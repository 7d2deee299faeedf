using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using RxStreams.Diagnostics;

namespace RxStreams.Internal;

/// <summary>
/// The library's one <see cref="ActivitySource"/> and the spans of a connection's life (names and shape in
/// <see cref="RxStreamsTracing"/>). Call sites are one line each; everything else lives here.
/// </summary>
/// <remarks>
/// <para>
/// Cost: every entry point first asks <see cref="ActivitySource.HasListeners"/> (or gets <see langword="null"/> from
/// <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> when no listener samples), so with no listener a
/// connection pays a branch per event and nothing is allocated. Only connection-level events are traced, never chunks.
/// </para>
/// <para>
/// <see cref="Activity.Current"/> is left as the caller had it, except inside a client's connect (so that the TLS
/// handshake and the runtime's own socket and DNS activities nest under it): starting or stopping an activity sets it, so
/// every other start and stop here restores it. A server connection's spans are roots: the accept loop's ambient
/// activity, if any, is whoever subscribed and not the connection's parent.
/// </para>
/// <para>
/// A connection's spans are found again through a <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the
/// connection (filled only while someone listens), so the connection and transport types carry no tracing field.
/// </para>
/// </remarks>
internal static class Tracing
{
    public static readonly ActivitySource Source = new(RxStreamsTracing.ActivitySourceName, typeof(Tracing).Assembly.GetName().Version?.ToString(3));

    private static readonly ConditionalWeakTable<StreamConnection, ConnectionSpans> Spans = new();

    /// <summary>A server adopted an accepted socket: starts its <see cref="RxStreamsTracing.Connection"/> and <see cref="RxStreamsTracing.Accept"/> spans.</summary>
    public static void Accepted(StreamConnection connection)
    {
        if (!Source.HasListeners())
        {
            return;
        }

        var ambient = Activity.Current;
        Activity.Current = null; // a root span, whatever the accept loop inherited
        try
        {
            var lifetime = Source.StartActivity(RxStreamsTracing.Connection, ActivityKind.Server);
            if (lifetime is null)
            {
                return;
            }

            AddNetworkTags(lifetime, connection, isServer: true);
            var accept = Source.StartActivity(RxStreamsTracing.Accept, ActivityKind.Internal, lifetime.Context);
            if (accept is not null)
            {
                AddNetworkTags(accept, connection, isServer: true);
            }

            Track(connection, new ConnectionSpans(connection, lifetime, accept));
        }
        finally
        {
            Activity.Current = ambient;
        }
    }

    /// <summary>A server handed the connection to its subscriber (or handler): its <see cref="RxStreamsTracing.Accept"/> span ends.</summary>
    public static void Delivered(StreamConnection connection)
    {
        if (Spans.TryGetValue(connection, out var spans))
        {
            Stop(spans.TakeAccept(), connection.Error);
        }
    }

    /// <summary>A client starts connecting: starts <see cref="RxStreamsTracing.Connect"/> as the current activity (the caller's async method restores it).</summary>
    public static Activity? StartConnect(string? host, int port, string transport)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(RxStreamsTracing.Connect, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("network.transport", transport);
            activity.SetTag("server.address", host);
            if (transport == "tcp")
            {
                activity.SetTag("server.port", port);
            }
        }

        return activity;
    }

    /// <summary>The client connected (and finished TLS): ends <paramref name="connect"/> and starts the connection's lifetime span beside it.</summary>
    public static void Connected(Activity? connect, StreamConnection connection)
    {
        if (connect is null)
        {
            return;
        }

        AddNetworkTags(connect, connection, isServer: false);
        connect.Stop(); // the current activity is the caller's again
        var caller = Activity.Current;
        var lifetime = Source.StartActivity(RxStreamsTracing.Connection, ActivityKind.Client);
        Activity.Current = caller;
        if (lifetime is not null)
        {
            AddNetworkTags(lifetime, connection, isServer: false);
            lifetime.SetTag("server.address", connect.GetTagItem("server.address"));
            lifetime.SetTag("server.port", connect.GetTagItem("server.port"));
            Track(connection, new ConnectionSpans(connection, lifetime, accept: null));
        }
    }

    /// <summary>Marks <paramref name="activity"/> as failed with <paramref name="error"/> and stops it (restoring the current activity).</summary>
    public static void Failed(Activity? activity, Exception error) => Stop(activity, error);

    /// <summary>Starts a TLS handshake's span: under the accept span while a server sets the connection up, else under the connection or the caller's activity.</summary>
    public static Activity? StartTlsHandshake(StreamConnection connection, bool isServer)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = StartChild(connection, RxStreamsTracing.TlsHandshake);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("tls.protocol.name", "tls");
            activity.SetTag("network.transport", NetworkTransport(connection));
            activity.SetTag(isServer ? "client.address" : "server.address", isServer ? Address(connection.RemoteEndPoint) : connection.HostName);
        }

        return activity;
    }

    /// <summary>Ends a TLS handshake's span: its negotiated parameters on success, the error otherwise.</summary>
    public static void TlsHandshakeEnded(Activity? activity, StreamConnection connection, Exception? error)
    {
        if (activity is null)
        {
            return;
        }

        if (error is null && connection.Tls is { } tls && activity.IsAllDataRequested)
        {
            activity.SetTag("tls.established", true);
            activity.SetTag("tls.protocol.version", tls.Cipher.Version.Replace("TLSv", string.Empty, StringComparison.Ordinal));
            activity.SetTag("tls.cipher", tls.CipherSuite.ToString());
            activity.SetTag("tls.server.name", tls.ServerName);
            if (tls.ApplicationProtocol.Protocol.Length > 0)
            {
                activity.SetTag("tls.next_protocol", tls.ApplicationProtocol.ToString());
            }
        }

        Stop(activity, error);
    }

    /// <summary>Starts the span of a server reading the PROXY protocol header (under the accept span).</summary>
    public static Activity? StartProxyHeader(StreamConnection connection) =>
        Source.HasListeners() ? StartChild(connection, RxStreamsTracing.ProxyHeader) : null;

    /// <summary>Ends the PROXY header's span: the client it names (also on the connection's span), or the error.</summary>
    private static void ProxyHeaderEnded(Activity? activity, StreamConnection connection, Exception? error)
    {
        if (activity is null)
        {
            return;
        }

        if (error is null && connection.ProxyHeader is { HasAddresses: true } && Spans.TryGetValue(connection, out var spans))
        {
            AddClientTags(activity, connection.RemoteEndPoint);
            AddClientTags(spans.Lifetime, connection.RemoteEndPoint);
        }

        Stop(activity, error);
    }

    /// <summary>
    /// Traces a PROXY header read: <paramref name="span"/> comes from <see cref="StartProxyHeader"/>, evaluated before
    /// <paramref name="reading"/> starts; without a span the read is returned as it is.
    /// </summary>
    public static ValueTask ProxyHeaderAsync(Activity? span, StreamConnection connection, ValueTask reading) =>
        span is null ? reading : AwaitProxyHeaderAsync(span, connection, reading);

    private static async ValueTask AwaitProxyHeaderAsync(Activity span, StreamConnection connection, ValueTask reading)
    {
        try
        {
            await reading.ConfigureAwait(false);
        }
        catch (Exception error)
        {
            ProxyHeaderEnded(span, connection, error);
            throw;
        }

        ProxyHeaderEnded(span, connection, null);
    }

    private static Activity? StartChild(StreamConnection connection, string name)
    {
        var ambient = Activity.Current;
        try
        {
            return Spans.TryGetValue(connection, out var spans)
                ? Source.StartActivity(name, ActivityKind.Internal, (spans.OpenAccept ?? spans.Lifetime).Context)
                : Source.StartActivity(name, ActivityKind.Internal);
        }
        finally
        {
            Activity.Current = ambient;
        }
    }

    private static void Track(StreamConnection connection, ConnectionSpans spans)
    {
        Spans.AddOrUpdate(connection, spans);
        connection.Closed.ContinueWith(
            static (_, state) => ((ConnectionSpans)state!).Close(),
            spans,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private static void Stop(Activity? activity, Exception? error)
    {
        if (activity is null)
        {
            return;
        }

        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.SetTag("error.type", ErrorType(error));
        }

        var ambient = Activity.Current;
        activity.Stop();
        Activity.Current = ambient;
    }

    private static string ErrorType(Exception error) =>
        error is SocketException socketError ? socketError.SocketErrorCode.ToString() : error.GetType().FullName ?? "_OTHER";

    private static string NetworkTransport(StreamConnection connection) =>
        connection.Socket?.AddressFamily == AddressFamily.Unix ? "unix" : "tcp";

    private static void AddNetworkTags(Activity activity, StreamConnection connection, bool isServer)
    {
        if (!activity.IsAllDataRequested)
        {
            return;
        }

        var local = connection.LocalEndPoint;
        var peer = connection.RemoteEndPoint;
        activity.SetTag("network.transport", NetworkTransport(connection));
        if (local is IPEndPoint { AddressFamily: var family })
        {
            activity.SetTag("network.type", family == AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4");
        }

        activity.SetTag("network.local.address", Address(local));
        activity.SetTag("network.local.port", Port(local));
        activity.SetTag("network.peer.address", Address(peer));
        activity.SetTag("network.peer.port", Port(peer));
        if (isServer)
        {
            activity.SetTag("server.address", Address(local));
            activity.SetTag("server.port", Port(local));
            AddClientTags(activity, peer);
        }
    }

    private static void AddClientTags(Activity activity, EndPoint? client)
    {
        activity.SetTag("client.address", Address(client));
        activity.SetTag("client.port", Port(client));
    }

    private static string? Address(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip => ip.Address.ToString(),
        null => null,
        _ => endPoint.ToString(), // a Unix socket's path
    };

    private static int? Port(EndPoint? endPoint) => (endPoint as IPEndPoint)?.Port;

    /// <summary>A connection's open spans; the lifetime span ends when the connection closes, with its error if it had one.</summary>
    private sealed class ConnectionSpans(StreamConnection connection, Activity lifetime, Activity? accept)
    {
        private Activity? _accept = accept;

        public Activity Lifetime => lifetime;

        public Activity? OpenAccept => Volatile.Read(ref _accept);

        public Activity? TakeAccept() => Interlocked.Exchange(ref _accept, null);

        public void Close()
        {
            var error = connection.Error;
            if (TakeAccept() is { } unfinished)
            {
                // Closed before it was handed over: a set-up step failed, or the peer left first.
                unfinished.SetStatus(ActivityStatusCode.Error, error?.Message ?? "The connection closed before it was handed to the handler.");
                unfinished.SetTag("error.type", error is null ? "closed" : ErrorType(error));
                Stop(unfinished, null);
            }

            Stop(lifetime, error);
        }
    }
}
