namespace RxStreams;

/// <summary>Whether a server expects HAProxy's PROXY protocol header in front of each connection (<see cref="ServerOptions.ProxyProtocol"/>).</summary>
/// <remarks>
/// There is deliberately no "optional" mode that guesses whether a header is present: the specification forbids it,
/// because any client that can reach the port could then claim any address. Enable it only on ports that nothing but
/// the trusted proxy or load balancer can reach.
/// </remarks>
public enum ProxyProtocolMode
{
    /// <summary>No header is expected; the first bytes go to the handler as they are (the default).</summary>
    Off,

    /// <summary>
    /// Every connection must start with a PROXY protocol header, version 1 (text) or 2 (binary), told apart by its first
    /// bytes. The header is consumed before the connection is delivered; a connection without a valid one is aborted.
    /// </summary>
    Required,
}
