using System.Net;
using System.Net.Sockets;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using RxStreams.Internal;
using RxStreams.Internal.Connect;

namespace RxStreams;

/// <summary>
/// The entry points: asyncio's <c>open_connection</c>, <c>start_server</c>, <c>open_unix_connection</c> and
/// <c>start_unix_server</c>, plus a cold observable connect.
/// </summary>
/// <remarks>
/// TLS is a setting, not a separate entry point: <see cref="ConnectionOptions.Tls"/> makes a client handshake before the
/// connect call returns, <see cref="ServerOptions.Tls"/> makes a server handshake with every connection it accepts, and
/// <see cref="OpenConnectionAsync(System.Net.Sockets.Socket, ConnectionOptions?, CancellationToken)"/> does the same over
/// a socket that is already connected. What users may rely on across all of these is in docs/contract.md.
/// </remarks>
public static partial class Streams
{
    /// <summary>
    /// asyncio's <c>open_connection(host, port)</c>: connects over TCP and returns the connection, which deconstructs
    /// into <c>(reader, writer)</c>.
    /// </summary>
    /// <param name="host">A host name or an IPv4/IPv6 address. Each address it resolves to (of <see cref="ConnectionOptions.Family"/>) is tried in turn,
    /// or, with <see cref="ConnectionOptions.HappyEyeballsDelay"/>, in a staggered race (RFC 8305) whose first success wins.</param>
    /// <param name="port">The port.</param>
    /// <param name="options">Limit, water marks, socket options, connect timeout; defaults as in asyncio.</param>
    /// <param name="cancellationToken">Cancels resolving and connecting.</param>
    /// <returns>The connected connection; dispose it to close.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not a valid port, or the options are inconsistent.</exception>
    /// <exception cref="SocketException">Resolving or connecting failed (for example <see cref="SocketError.ConnectionRefused"/>);
    /// when several addresses failed differently, an <see cref="AggregateException"/> holds each.</exception>
    /// <exception cref="TimeoutException"><see cref="ConnectionOptions.ConnectTimeout"/> or the TLS handshake timeout passed.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">With <see cref="ConnectionOptions.Tls"/>: the handshake failed (for example the server's certificate was refused).</exception>
    /// <exception cref="ArgumentException">TLS is asked for and no server name is known.</exception>
    public static async Task<StreamConnection> OpenConnectionAsync(string host, int port, ConnectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        var span = Tracing.StartConnect(host, port, "tcp"); // the current activity inside this call: TLS nests under it
        try
        {
            var connection = await ConnectTcpAsync(host, port, options, cancellationToken).ConfigureAwait(false);
            Tracing.Connected(span, connection);
            return connection;
        }
        catch (Exception error)
        {
            Tracing.Failed(span, error);
            throw;
        }
    }

    private static async Task<StreamConnection> ConnectTcpAsync(string host, int port, ConnectionOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ValidatePort(port);
        options ??= new ConnectionOptions();
        options.Validate();
        options.Tls?.Validate(host, nameof(options));

        using var timeout = ConnectDeadline.Start(options, cancellationToken);
        try
        {
            var addresses = await ResolveAsync(host, options.Family, timeout.Token, options.Resolver).ConfigureAwait(false);
            var socket = await HappyEyeballs.ConnectAsync(addresses, port, options, timeout.Token).ConfigureAwait(false);
            return await ConnectedAsync(socket, options, host, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.Expired)
        {
            throw new TimeoutException($"Connecting to {host}:{port} took longer than {options.ConnectTimeout}.");
        }
    }

    /// <summary>asyncio's <c>open_connection(sock=...)</c>: wraps a socket that is already connected.</summary>
    /// <param name="socket">A connected stream socket (TCP or Unix); the connection owns it from now on.</param>
    /// <param name="options">Limit, water marks.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The socket is not a connected stream socket (asyncio: 'A Stream Socket was expected'), or
    /// <see cref="ConnectionOptions.Tls"/> is set (a handshake waits: use <see cref="OpenConnectionAsync(Socket, ConnectionOptions?, CancellationToken)"/>).</exception>
    public static StreamConnection OpenConnection(Socket socket, ConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SocketType != SocketType.Stream)
        {
            throw new ArgumentException($"A stream socket was expected, got {socket.SocketType}.", nameof(socket));
        }

        if (!socket.Connected)
        {
            throw new ArgumentException("The socket is not connected.", nameof(socket));
        }

        options ??= new ConnectionOptions();
        options.Validate();
        if (options.Tls is not null)
        {
            throw new ArgumentException("A TLS handshake needs to wait: use OpenConnectionAsync(socket, options) for TLS.", nameof(options));
        }

        return StreamConnection.Open(SocketChannel.Create(socket, options), options);
    }

    /// <summary>asyncio's <c>open_unix_connection(path)</c>: connects to a Unix domain socket.</summary>
    /// <param name="path">The socket's path; a leading <c>'\0'</c> or <c>'@'</c> names a Linux abstract socket.</param>
    /// <param name="options">Limit, water marks, connect timeout.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The connection (<see cref="ConnectionWriter.CanWriteEof"/> is true: half-close works on Unix sockets).</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty, or TLS is asked for without <see cref="TlsClientOptions.ServerName"/> (asyncio: 'you have to pass server_hostname when using ssl').</exception>
    /// <exception cref="SocketException">Connecting failed: no such socket (<see cref="SocketError.AddressNotAvailable"/> or
    /// <see cref="SocketError.ConnectionRefused"/>), or the path is too long.</exception>
    /// <exception cref="TimeoutException"><see cref="ConnectionOptions.ConnectTimeout"/> or the TLS handshake timeout passed.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">With <see cref="ConnectionOptions.Tls"/>: the handshake failed.</exception>
    public static async Task<StreamConnection> OpenUnixConnectionAsync(string path, ConnectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        var span = Tracing.StartConnect(path, 0, "unix");
        try
        {
            var connection = await ConnectUnixAsync(path, options, cancellationToken).ConfigureAwait(false);
            Tracing.Connected(span, connection);
            return connection;
        }
        catch (Exception error)
        {
            Tracing.Failed(span, error);
            throw;
        }
    }

    private static async Task<StreamConnection> ConnectUnixAsync(string path, ConnectionOptions? options, CancellationToken cancellationToken)
    {
        var endPoint = Listener.UnixEndPoint(path, out _);
        options ??= new ConnectionOptions();
        options.Validate();
        options.Tls?.Validate(null, nameof(options)); // asyncio: 'you have to pass server_hostname when using ssl'
        using var timeout = ConnectDeadline.Start(options, cancellationToken);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            return await ConnectedAsync(socket, options, null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.Expired)
        {
            socket.Dispose();
            throw new TimeoutException($"Connecting to '{path}' took longer than {options.ConnectTimeout}.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A cold observable form of <see cref="OpenConnectionAsync(string, int, ConnectionOptions?, CancellationToken)"/>: each subscription connects, emits the connection,
    /// and completes when the connection is over: when a read found the end of the input (the server closed; so
    /// <c>Connect(...).SelectMany(c => c.Reader.Lines())</c> completes with the lines) or when the connection closed.
    /// Composes with <c>Retry</c>, <c>Timeout</c> and <c>Using</c>; with a <see cref="ReconnectPolicy"/> see
    /// <see cref="Connect(IEnumerable{EndPoint}, ConnectionOptions?, ReconnectPolicy)"/>.
    /// </summary>
    /// <remarks>
    /// Lifetime: the emitted connection belongs to the subscription. It is closed gracefully (what was written is still
    /// sent, then FIN) when the subscription is disposed or when the sequence completes, so a connection whose server
    /// closed is not left half-open. To keep writing after the peer's EOF (a half-closed conversation), use
    /// <see cref="OpenConnectionAsync(string, int, ConnectionOptions?, CancellationToken)"/> instead.
    /// </remarks>
    /// <param name="host">A host name or address.</param>
    /// <param name="port">The port.</param>
    /// <param name="options">Connection options.</param>
    /// <returns>The observable.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not a valid port.</exception>
    public static IObservable<StreamConnection> Connect(string host, int port, ConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ValidatePort(port);
        return ColdConnect.Create(cancellationToken => OpenConnectionAsync(host, port, options, cancellationToken));
    }

    /// <summary>
    /// asyncio's <c>start_server</c> without a callback: binds (and, unless <see cref="ServerOptions.StartServing"/> is
    /// false, listens) and returns the server, an observable of the connections it accepts (accepting runs while someone
    /// subscribes; see <see cref="StreamServer"/>).
    /// </summary>
    /// <param name="host">A host name or address; <see langword="null"/> or empty for every interface (IPv4 and IPv6, one socket each).</param>
    /// <param name="port">The port; 0 picks a free one (read it from <see cref="StreamServer.EndPoints"/>; with several sockets each gets its own).</param>
    /// <param name="options">Backlog, reuse-address/port, family, limit, water marks.</param>
    /// <param name="cancellationToken">Cancels resolving.</param>
    /// <returns>The server.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not a valid port, or the options are inconsistent.</exception>
    /// <exception cref="SocketException">Binding failed (for example <see cref="SocketError.AddressAlreadyInUse"/>, whose message names
    /// the endpoint: another socket listens there, and a port is shared only when both use <see cref="ServerOptions.ReusePort"/>);
    /// every socket created so far is closed.</exception>
    public static Task<StreamServer> StartServerAsync(string? host, int port, ServerOptions? options = null, CancellationToken cancellationToken = default) =>
        StartServerAsync(string.IsNullOrEmpty(host) ? [] : [host], port, options, cancellationToken);

    /// <summary>asyncio's <c>start_server(host=[...])</c>: one server listening on every address of several hosts.</summary>
    /// <param name="hosts">Host names or addresses; empty for every interface. Resolved addresses are de-duplicated.</param>
    /// <param name="port">The port; 0 gives each socket its own free port.</param>
    /// <param name="options">Backlog, reuse-address/port, family, limit, water marks.</param>
    /// <param name="cancellationToken">Cancels resolving.</param>
    /// <returns>The server.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hosts"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not a valid port, or the options are inconsistent.</exception>
    /// <exception cref="SocketException">Binding failed; every socket created so far is closed.</exception>
    public static async Task<StreamServer> StartServerAsync(IEnumerable<string> hosts, int port, ServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ValidatePort(port);
        options ??= new ServerOptions();
        options.Validate();
        var addresses = new List<IPAddress>();
        foreach (var host in hosts)
        {
            addresses.AddRange(await ResolveAsync(host, options.Family, cancellationToken).ConfigureAwait(false));
        }

        if (addresses.Count == 0)
        {
            if (options.Family != AddressFamily.InterNetworkV6)
            {
                addresses.Add(IPAddress.Any);
            }

            if (options.Family != AddressFamily.InterNetwork && Socket.OSSupportsIPv6)
            {
                addresses.Add(IPAddress.IPv6Any);
            }
        }

        return Serve(Listener.BindTcp([.. addresses.Distinct()], port, options), options);
    }

    /// <summary>asyncio's <c>start_server(sock=...)</c>: serves on a socket that is already bound (and maybe listening).</summary>
    /// <param name="socket">A bound stream socket; the server owns it from now on. A Unix socket's file is removed when the
    /// server closes as for <see cref="StartUnixServerAsync(string, ServerOptions?, CancellationToken)"/>: only with
    /// <see cref="ServerOptions.CleanupSocket"/>, and only if it is still the file it was when handed over.</param>
    /// <param name="options">Backlog, limit, water marks.</param>
    /// <returns>The server.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The socket is not a bound stream socket.</exception>
    public static StreamServer StartServer(Socket socket, ServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SocketType != SocketType.Stream || !socket.IsBound)
        {
            throw new ArgumentException("A bound stream socket was expected.", nameof(socket));
        }

        options ??= new ServerOptions();
        options.Validate();
        return Serve([Listener.Adopt(socket, options.CleanupSocket)], options);
    }

    /// <summary>
    /// asyncio's <c>start_unix_server(path=...)</c>: serves on a Unix domain socket. A socket file left by a dead server is
    /// replaced; one a live server still accepts on is not (<see cref="SocketError.AddressAlreadyInUse"/>); the file is
    /// removed when the server closes, if it is still the one this server created (Python 3.13's <c>cleanup_socket</c>).
    /// </summary>
    /// <param name="path">The socket's path; a leading <c>'\0'</c> or <c>'@'</c> names a Linux abstract socket (no file).</param>
    /// <param name="options">Backlog, limit, water marks.</param>
    /// <param name="cancellationToken">Unused: binding does not wait; here for symmetry with the TCP form.</param>
    /// <returns>The server.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="SocketException">Binding failed (a live server or a regular file at the path, a path too long).</exception>
    public static Task<StreamServer> StartUnixServerAsync(string path, ServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        options ??= new ServerOptions();
        options.Validate();
        return Task.FromResult(Serve([Listener.BindUnix(path, options.CleanupSocket)], options));
    }

    /// <summary>
    /// asyncio's <c>start_server(client_connected_cb, host, port)</c>: serves at once, running
    /// <paramref name="handler"/> for each connection (see <see cref="StreamServer.Serve"/>).
    /// </summary>
    /// <param name="handler">Handles one connection; the connection closes when its task completes, and is aborted if it throws.</param>
    /// <param name="host">A host name or address; <see langword="null"/> or empty for every interface.</param>
    /// <param name="port">The port; 0 picks a free one.</param>
    /// <param name="options">Backlog, reuse-address, limit, water marks.</param>
    /// <param name="cancellationToken">Cancels resolving.</param>
    /// <returns>The serving server.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not a valid port, or the options are inconsistent.</exception>
    /// <exception cref="SocketException">Binding failed.</exception>
    public static async Task<StreamServer> StartServerAsync(Func<ConnectionReader, ConnectionWriter, Task> handler, string? host, int port, ServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var server = await StartServerAsync(host, port, options, cancellationToken).ConfigureAwait(false);
        server.Serve(handler);
        return server;
    }

    /// <summary>asyncio's <c>start_unix_server(client_connected_cb, path)</c>: serves at once on a Unix socket.</summary>
    /// <param name="handler">Handles one connection; the connection closes when its task completes, and is aborted if it throws.</param>
    /// <param name="path">The socket's path (see <see cref="StartUnixServerAsync(string, ServerOptions?, CancellationToken)"/>).</param>
    /// <param name="options">Backlog, limit, water marks.</param>
    /// <param name="cancellationToken">Unused: binding does not wait.</param>
    /// <returns>The serving server.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="SocketException">Binding failed.</exception>
    public static async Task<StreamServer> StartUnixServerAsync(Func<ConnectionReader, ConnectionWriter, Task> handler, string path, ServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var server = await StartUnixServerAsync(path, options, cancellationToken).ConfigureAwait(false);
        server.Serve(handler);
        return server;
    }

    private static StreamServer Serve(Listener[] listeners, ServerOptions options)
    {
        var server = new StreamServer(listeners, options);
        if (options.StartServing)
        {
            try
            {
                server.StartServing();
            }
            catch
            {
                server.Close();
                throw;
            }
        }

        return server;
    }

    internal static void ApplyTcpOptions(Socket socket, ConnectionOptions options)
    {
        socket.NoDelay = options.NoDelay;
        if (options.KeepAlive)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        }
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, AddressFamily family, CancellationToken cancellationToken, Func<string, CancellationToken, Task<IPAddress[]>>? resolver = null)
    {
        IPAddress[] addresses = IPAddress.TryParse(host, out var address)
            ? [address]
            : await (resolver is null ? Dns.GetHostAddressesAsync(host, cancellationToken) : resolver(host, cancellationToken)).ConfigureAwait(false);
        if (family != AddressFamily.Unspecified)
        {
            addresses = [.. addresses.Where(a => a.AddressFamily == family)];
        }

        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound, $"getaddrinfo() returned no {(family == AddressFamily.Unspecified ? string.Empty : family + " ")}address for '{host}'");
        }

        return [.. addresses.Distinct()];
    }

    private static void ValidatePort(int port)
    {
        if (port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "The port must be between 0 and 65535.");
        }
    }

    /// <summary>The connect timeout: a token cancelled by the options' scheduler (so virtual time can drive it) or by the caller.</summary>
    private sealed class ConnectDeadline : IDisposable
    {
        private readonly CancellationTokenSource _source;
        private readonly IDisposable _timer;
        private volatile bool _expired;

        private ConnectDeadline(ConnectionOptions options, CancellationToken cancellationToken)
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _timer = options.ConnectTimeout is { } timeout
                ? options.Scheduler.Schedule(this, timeout, static (_, deadline) =>
                {
                    deadline._expired = true;
                    try
                    {
                        deadline._source.Cancel();
                    }
                    catch (ObjectDisposedException)
                    {
                        // The connect finished as the deadline fired: nothing left to cancel.
                    }

                    return Disposable.Empty;
                })
                : Disposable.Empty;
        }

        public CancellationToken Token => _source.Token;

        public bool Expired => _expired;

        public static ConnectDeadline Start(ConnectionOptions options, CancellationToken cancellationToken) => new(options, cancellationToken);

        public void Dispose()
        {
            _timer.Dispose();
            _source.Dispose(); // releases its registration on the caller's token
        }
    }
}
