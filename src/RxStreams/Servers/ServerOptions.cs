using System.Net;
using System.Reactive.Concurrency;

namespace RxStreams;

/// <summary>Settings of a server and of every connection it accepts (asyncio's <c>start_server</c> keyword arguments).</summary>
/// <remarks>
/// Beyond asyncio's listening settings (<see cref="Backlog"/>, <see cref="ReuseAddress"/>, <see cref="ReusePort"/>,
/// <see cref="StartServing"/>) a server has: TLS for every accepted connection (<see cref="Tls"/>); a connection-flood
/// defence, <see cref="MaxConnections"/>, which holds accepting back at the cap
/// (docs/adr/0014-listener-loss-and-connection-cap.md);
/// the PROXY protocol settings for a server behind HAProxy's <c>accept-proxy</c> or nginx's
/// <c>listen ... proxy_protocol</c> (<see cref="ProxyProtocol"/>, <see cref="ProxyProtocolTimeout"/>,
/// <see cref="ProxyProtocolMaxHeaderLength"/>); connection policies, per client address
/// (<see cref="MaxConnectionsPerClient"/>, <see cref="MaxConnectionRatePerClient"/>) and by age
/// (<see cref="MaxConnectionAge"/>, to rebalance behind a load balancer); and, for a Unix domain socket server, whether closing removes its socket
/// file (<see cref="CleanupSocket"/>).
/// </remarks>
public sealed partial class ServerOptions : ConnectionOptions
{
    private int _backlog = 100;

    /// <summary>asyncio's <c>backlog</c>: how many connections the OS queues before they are accepted (100 by default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int Backlog
    {
        get => _backlog;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _backlog = value;
        }
    }

    /// <summary>
    /// asyncio's <c>reuse_address</c> (<c>SO_REUSEADDR</c>): a port whose old connections linger in TIME_WAIT can be bound
    /// again at once. On by default, as on POSIX in asyncio. It never lets two servers listen on one port (unlike .NET's
    /// <see cref="System.Net.Sockets.SocketOptionName.ReuseAddress"/>, which also sets <c>SO_REUSEPORT</c> on Unix): a
    /// second server fails with <see cref="System.Net.Sockets.SocketError.AddressAlreadyInUse"/>; sharing a port takes
    /// <see cref="ReusePort"/>. Ignored on Windows, whose <c>SO_REUSEADDR</c> would let a port be taken over.
    /// </summary>
    public bool ReuseAddress { get; set; } = true;

    /// <summary>
    /// asyncio's <c>reuse_port</c> (<c>SO_REUSEPORT</c>): several sockets, in this process or others, may bind the same
    /// port, and the kernel spreads connections among them. Off by default.
    /// </summary>
    public bool ReusePort { get; set; }

    /// <summary>
    /// asyncio's <c>start_serving</c>: when <see langword="false"/>, the server's sockets are bound but not listening
    /// (connection attempts are refused) until <see cref="StreamServer.StartServing"/>. On by default.
    /// </summary>
    public bool StartServing { get; set; } = true;

    /// <summary>
    /// asyncio's <c>ssl=</c> for a server: every accepted connection does a TLS handshake before it is delivered (off the
    /// accept loop; a failure aborts that connection and goes to <see cref="StreamServer.Errors"/>).
    /// <see langword="null"/> (the default) serves plaintext. Hides the client's <see cref="ConnectionOptions.Tls"/>, which a server does not use.
    /// </summary>
    /// <exception cref="ArgumentException">At the call that starts the server, when the options have no certificate.</exception>
    public new TlsServerOptions? Tls { get; set; }
}
