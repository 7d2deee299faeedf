using RxStreams.Internal;

namespace RxStreams;

// The PROXY protocol settings of a server (HAProxy's accept-proxy, nginx's listen ... proxy_protocol). The type's docs
// are in Servers/ServerOptions.cs.
public sealed partial class ServerOptions
{
    private TimeSpan _proxyProtocolTimeout = TimeSpan.FromSeconds(30);
    private int _proxyProtocolMaxHeaderLength = 4096;

    /// <summary>
    /// Whether every accepted connection starts with a PROXY protocol header (v1 or v2) from a proxy or load balancer in
    /// front of the server; <see cref="ProxyProtocolMode.Off"/> by default. With <see cref="ProxyProtocolMode.Required"/>,
    /// the header is read and removed before the connection reaches a subscriber or handler, and the connection's
    /// <see cref="StreamConnection.RemoteEndPoint"/> (<c>peername</c>) and <see cref="StreamConnection.LocalEndPoint"/>
    /// (<c>sockname</c>) become the client's address and the address it connected to; the proxy's are kept in
    /// <see cref="StreamConnection.ProxyEndPoint"/> (<c>proxy_peername</c>) and <c>proxy_sockname</c>. A connection whose header
    /// is missing, malformed, too long (<see cref="ProxyProtocolMaxHeaderLength"/>) or late (<see cref="ProxyProtocolTimeout"/>)
    /// is aborted and its <see cref="ProxyProtocolException"/> or <see cref="TimeoutException"/> goes to
    /// <see cref="StreamServer.Errors"/>; the server is not affected.
    /// </summary>
    /// <remarks>
    /// Security: a peer that can reach a port with the option on can claim any address. Only proxies you trust must be able
    /// to connect (a firewall, a private network, or a Unix socket). Bytes after the header stay in the reader's buffer.
    /// </remarks>
    public ProxyProtocolMode ProxyProtocol { get; set; } = ProxyProtocolMode.Off;

    /// <summary>
    /// How long a connection may take to deliver its whole PROXY protocol header (30 s by default, nginx's
    /// <c>proxy_protocol_timeout</c>); <see cref="Timeout.InfiniteTimeSpan"/> disables it. A peer that sends half a header
    /// and stalls is aborted when it expires. Runs on <see cref="ConnectionOptions.Scheduler"/> (see docs/contract.md,
    /// guarantee 7 "Time is a scheduler").
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative (other than <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public TimeSpan ProxyProtocolTimeout
    {
        get => _proxyProtocolTimeout;
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The PROXY protocol timeout must be positive, or Timeout.InfiniteTimeSpan for none.");
            }

            _proxyProtocolTimeout = value;
        }
    }

    /// <summary>
    /// The longest PROXY protocol v2 header accepted, TLV records included (4096 bytes by default; at least 232, which
    /// holds two Unix socket paths; at most 65551, the most the format can describe). A v1 line is always limited to the
    /// specification's 107 bytes. A longer header is refused from its 16-byte prefix, before the rest is read.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 232 or above 65551.</exception>
    public int ProxyProtocolMaxHeaderLength
    {
        get => _proxyProtocolMaxHeaderLength;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, ProxyProtocolDecoder.MinMaxHeaderLength);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, ProxyProtocolDecoder.V2MaxLength);
            _proxyProtocolMaxHeaderLength = value;
        }
    }
}
