using System.Net;

namespace RxStreams.Internal;

/// <summary>
/// Who is at each end of a connection: the channel's own endpoints, and the PROXY protocol header a server read
/// before delivering the connection, if it was asked to. An immutable value: a connection hands out a new one when
/// asked, so nothing holds on to it.
/// </summary>
/// <param name="Local">The channel's local endpoint.</param>
/// <param name="Remote">The channel's peer (with a PROXY header: the proxy).</param>
/// <param name="ProxyHeader">The PROXY protocol header, if one was read.</param>
internal readonly record struct ConnectionIdentity(EndPoint? Local, EndPoint? Remote, ProxyProtocolHeader? ProxyHeader)
{
    /// <summary>The connection's logical peer (asyncio's <c>peername</c>): the client a PROXY header names, else <see cref="Remote"/>.</summary>
    public EndPoint? PeerName => ProxyHeader is { HasAddresses: true } header ? header.Source : Remote;

    /// <summary>The connection's logical local end (asyncio's <c>sockname</c>): where a PROXY header says the client connected, else <see cref="Local"/>.</summary>
    public EndPoint? SockName => ProxyHeader is { HasAddresses: true } header ? header.Destination : Local;

    /// <summary>The channel's own peer when a PROXY header names another (asyncio's <c>proxy_peername</c>), else <see langword="null"/>.</summary>
    public EndPoint? ProxyPeer => ProxyHeader is null ? null : Remote;

    /// <summary>The channel's own local end when a PROXY header names another (asyncio's <c>proxy_sockname</c>), else <see langword="null"/>.</summary>
    public EndPoint? ProxyLocal => ProxyHeader is null ? null : Local;
}
