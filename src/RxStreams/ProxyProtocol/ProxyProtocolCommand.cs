namespace RxStreams;

/// <summary>What a PROXY protocol header says about its connection.</summary>
public enum ProxyProtocolCommand
{
    /// <summary>
    /// The proxy opened the connection for itself (v2 <c>LOCAL</c>, typically a health check): the connection's endpoints
    /// are the proxy's own, and the header carries no client address.
    /// </summary>
    Local,

    /// <summary>The proxy relays a client's connection (v2 <c>PROXY</c>, and every v1 header, <c>UNKNOWN</c> included).</summary>
    Proxy,
}
