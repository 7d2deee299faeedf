using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// The entry points: asyncio's <c>open_connection</c> and <c>start_server</c>, plus a cold observable connect.
/// </summary>
public static class Streams
{
    /// <summary>
    /// asyncio's <c>open_connection(host, port)</c>: connects over TCP and returns the connection, which deconstructs
    /// into <c>(reader, writer)</c>.
    /// </summary>
    /// <param name="host">A host name or an IPv4/IPv6 address. Each address it resolves to is tried in turn.</param>
    /// <param name="port">The port.</param>
    /// <param name="options">Limit, water marks, socket options; defaults as in asyncio.</param>
    /// <param name="cancellationToken">Cancels resolving and connecting.</param>
    /// <returns>The connected connection; dispose it to close.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not a valid port, or the options are inconsistent.</exception>
    /// <exception cref="SocketException">Resolving or connecting failed (for example <see cref="SocketError.ConnectionRefused"/>);
    /// when several addresses failed differently, an <see cref="AggregateException"/> holds each.</exception>
    public static async Task<StreamConnection> OpenConnectionAsync(string host, int port, ConnectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ValidatePort(port);
        options ??= new ConnectionOptions();
        options.Validate();

        var addresses = await ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        var failures = new List<Exception>();
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.NoDelay = options.NoDelay;
                if (options.LocalEndPoint is { } local)
                {
                    socket.Bind(local);
                }

                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return new StreamConnection(new SocketTransport(socket), options);
            }
            catch (Exception error) when (error is SocketException)
            {
                socket.Dispose();
                failures.Add(error);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        // asyncio: one failure (or several alike) raises the first; different ones are reported together.
        if (failures.Select(static f => ((SocketException)f).SocketErrorCode).Distinct().Count() == 1)
        {
            throw failures[0];
        }

        throw new AggregateException($"Multiple exceptions: {string.Join(", ", failures.Select(static f => f.Message))}", failures);
    }

    /// <summary>
    /// A cold observable form of <see cref="OpenConnectionAsync"/>: each subscription connects, emits the connection,
    /// completes when the connection closes, and disposes it when unsubscribed. Composes with <c>Retry</c>,
    /// <c>Timeout</c> and <c>Using</c>.
    /// </summary>
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
        return Observable.Create<StreamConnection>(async (observer, cancellationToken) =>
        {
            var connection = await OpenConnectionAsync(host, port, options, cancellationToken).ConfigureAwait(false);
            observer.OnNext(connection);
            _ = connection.Closed.ContinueWith(static (_, o) => ((IObserver<StreamConnection>)o!).OnCompleted(), observer, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return connection;
        });
    }

    /// <summary>
    /// asyncio's <c>start_server</c> without a callback: binds and listens, and returns the server, an observable of the
    /// connections it accepts (accepting runs while someone subscribes; see <see cref="StreamServer"/>).
    /// </summary>
    /// <param name="host">A host name or address; <see langword="null"/> or empty for every interface (IPv4 and IPv6, one socket each).</param>
    /// <param name="port">The port; 0 picks a free one (read it from <see cref="StreamServer.EndPoints"/>).</param>
    /// <param name="options">Backlog, reuse-address, limit, water marks.</param>
    /// <param name="cancellationToken">Cancels resolving.</param>
    /// <returns>The listening server.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not a valid port, or the options are inconsistent.</exception>
    /// <exception cref="SocketException">Binding failed (for example <see cref="SocketError.AddressAlreadyInUse"/>); every socket created so far is closed.</exception>
    public static async Task<StreamServer> StartServerAsync(string? host, int port, ServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ValidatePort(port);
        options ??= new ServerOptions();
        options.Validate();
        var addresses = string.IsNullOrEmpty(host)
            ? (Socket.OSSupportsIPv6 ? [IPAddress.Any, IPAddress.IPv6Any] : [IPAddress.Any])
            : await ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        return new StreamServer(Listen(addresses, port, options), options);
    }

    /// <summary>
    /// asyncio's <c>start_server(client_connected_cb, host, port)</c>: serves at once, running
    /// <paramref name="handler"/> for each connection on the thread pool.
    /// </summary>
    /// <param name="handler">
    /// Handles one connection. When its task completes, the connection is closed gracefully (deterministically, unlike
    /// asyncio, where it depends on garbage collection); when it throws, the connection is aborted and the exception goes
    /// to <see cref="StreamServer.Errors"/>. The server is never affected.
    /// </param>
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
        server.Subscribe(new HandlerObserver(server, handler));
        return server;
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return [address];
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        return addresses.Distinct().ToArray();
    }

    private static Socket[] Listen(IPAddress[] addresses, int port, ServerOptions options)
    {
        var sockets = new List<Socket>();
        try
        {
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    if (address.AddressFamily == AddressFamily.InterNetworkV6)
                    {
                        socket.DualMode = false; // IPV6_V6ONLY, as asyncio: IPv4 gets its own socket
                    }

                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, options.ReuseAddress);
                    socket.Bind(new IPEndPoint(address, port));
                    socket.Listen(options.Backlog);
                    sockets.Add(socket);
                }
                catch (SocketException error) when (error.SocketErrorCode == SocketError.AddressNotAvailable)
                {
                    socket.Dispose(); // asyncio skips addresses this host does not have
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            if (sockets.Count == 0)
            {
                throw new SocketException((int)SocketError.AddressNotAvailable, $"could not bind on any address out of [{string.Join(", ", addresses.Select(a => new IPEndPoint(a, port)))}]");
            }

            return [.. sockets];
        }
        catch
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            throw;
        }
    }

    private static void ValidatePort(int port)
    {
        if (port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "The port must be between 0 and 65535.");
        }
    }

    /// <summary>Runs the asyncio-style callback for each accepted connection and ties the connection's life to it.</summary>
    private sealed class HandlerObserver(StreamServer server, Func<ConnectionReader, ConnectionWriter, Task> handler) : IObserver<StreamConnection>
    {
        public void OnNext(StreamConnection value) => _ = RunAsync(value);

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }

        private async Task RunAsync(StreamConnection connection)
        {
            await Task.Yield(); // off the accept loop: a handler's synchronous start must not delay accepting
            try
            {
                await handler(connection.Reader, connection.Writer).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                connection.Transport.Fail(error);
                server.ReportError(error);
                return;
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
