namespace RxStreams;

/// <summary>The transport protocol of the client's connection, as a PROXY protocol header declares it.</summary>
public enum ProxyProtocolTransport
{
    /// <summary>Unknown or unspecified (v2 <c>UNSPEC</c>, v1 <c>UNKNOWN</c>, and every <see cref="ProxyProtocolCommand.Local"/> header).</summary>
    Unspecified,

    /// <summary>A stream: TCP, or a Unix stream socket (v1 <c>TCP4</c>/<c>TCP6</c>, v2 <c>STREAM</c>).</summary>
    Stream,

    /// <summary>Datagrams: UDP, or a Unix datagram socket (v2 <c>DGRAM</c>).</summary>
    Datagram,
}
