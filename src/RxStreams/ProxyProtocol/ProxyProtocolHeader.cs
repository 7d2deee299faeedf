using System.Net;
using System.Net.Sockets;
using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// A decoded PROXY protocol header (HAProxy's <c>proxy-protocol.txt</c>, version 1 or 2): who the real client is, as the
/// proxy in front of the server reports it. Available as <see cref="StreamConnection.ProxyHeader"/> and
/// <c>writer.GetExtraInfo("proxy_header")</c>.
/// </summary>
/// <remarks>
/// When <see cref="Source"/> is known, the connection's <see cref="StreamConnection.RemoteEndPoint"/> (asyncio's
/// <c>peername</c>) is it and <see cref="StreamConnection.LocalEndPoint"/> (<c>sockname</c>) is <see cref="Destination"/>,
/// the address the client connected to; the proxy's own addresses stay in <see cref="StreamConnection.ProxyEndPoint"/>
/// (<c>proxy_peername</c>) and <c>proxy_sockname</c>. When it is not (a v2 <c>LOCAL</c> health check, v1 <c>UNKNOWN</c>, an
/// unspecified v2 family), the connection keeps the socket's real endpoints, as the specification requires.
/// </remarks>
public sealed class ProxyProtocolHeader
{
    internal ProxyProtocolHeader(
        int version,
        ProxyProtocolCommand command,
        AddressFamily family,
        ProxyProtocolTransport transport,
        EndPoint? source,
        EndPoint? destination,
        IReadOnlyList<ProxyProtocolTlv> tlvs,
        int length,
        bool hasAddresses)
    {
        HasAddresses = hasAddresses;
        Version = version;
        Command = command;
        Family = family;
        Transport = transport;
        Source = source;
        Destination = destination;
        Tlvs = tlvs;
        Length = length;
    }

    /// <summary>1 for the text format, 2 for the binary one.</summary>
    public int Version { get; }

    /// <summary>Whether the connection is relayed for a client or the proxy's own (a health check).</summary>
    public ProxyProtocolCommand Command { get; }

    /// <summary>
    /// The client connection's address family: <see cref="AddressFamily.InterNetwork"/>,
    /// <see cref="AddressFamily.InterNetworkV6"/>, <see cref="AddressFamily.Unix"/>, or
    /// <see cref="AddressFamily.Unspecified"/> (v1 <c>UNKNOWN</c>, v2 <c>AF_UNSPEC</c>, and <c>LOCAL</c> headers).
    /// </summary>
    public AddressFamily Family { get; }

    /// <summary>The client connection's transport protocol.</summary>
    public ProxyProtocolTransport Transport { get; }

    /// <summary>
    /// The real client's address: an <see cref="IPEndPoint"/> or a <see cref="UnixDomainSocketEndPoint"/>;
    /// <see langword="null"/> when the header carries none (<c>LOCAL</c>, <c>UNKNOWN</c>, unspecified family).
    /// </summary>
    public EndPoint? Source { get; }

    /// <summary>The address the client connected to (on the proxy); <see langword="null"/> when <see cref="Source"/> is.</summary>
    public EndPoint? Destination { get; }

    /// <summary>
    /// For a v2 <see cref="AddressFamily.Unix"/> header, the client's socket path exactly as the header carries it:
    /// <c>sun_path</c> up to its first NUL, or all 108 bytes when there is none; a Linux abstract name starts with its NUL.
    /// Empty for other families and for an unnamed socket.
    /// </summary>
    /// <remarks>
    /// A path is bytes, not text: it need not be UTF-8. <see cref="Source"/> is a <see cref="UnixDomainSocketEndPoint"/> built
    /// from these bytes (its string shows bytes that are not UTF-8 as U+FFFD; it is <see langword="null"/> where the
    /// platform's paths are shorter and the path does not fit, as on macOS); these are the originals. Both are the
    /// peer's text: escape them before printing (they may hold control characters).
    /// </remarks>
    public ReadOnlyMemory<byte> SourceUnixPath { get; internal init; }

    /// <summary>
    /// For a v2 <see cref="AddressFamily.Unix"/> header, the path the client connected to, as
    /// <see cref="SourceUnixPath"/> is the client's: the bytes behind <see cref="Destination"/>.
    /// </summary>
    public ReadOnlyMemory<byte> DestinationUnixPath { get; internal init; }

    /// <summary>
    /// The v2 header's type-length-value records, in order; empty for v1, for a v2 header without any, and after a
    /// <c>LOCAL</c> command or an unspecified family (whose address block, of unknown size, is skipped whole).
    /// </summary>
    public IReadOnlyList<ProxyProtocolTlv> Tlvs { get; }

    /// <summary>
    /// Whether the header carries the client's addresses, so they replace the socket's as the connection's endpoints (a
    /// <c>PROXY</c> command with a known family and protocol). <see cref="Source"/> may still be <see langword="null"/> for an
    /// unnamed Unix socket.
    /// </summary>
    internal bool HasAddresses { get; }

    /// <summary>How many bytes the header took on the wire (CRLF or TLVs included).</summary>
    public int Length { get; }

    /// <summary>The first record of type <paramref name="type"/>, if there is one.</summary>
    /// <param name="type">The TLV type byte (for example <c>0x02</c> for the authority, i.e. the client's SNI).</param>
    /// <returns>The record's value, or <see langword="null"/>.</returns>
    public ReadOnlyMemory<byte>? FindTlv(byte type)
    {
        foreach (var tlv in Tlvs)
        {
            if (tlv.Type == type)
            {
                return tlv.Value;
            }
        }

        return null;
    }

    /// <summary>
    /// A one-line description, for logs: <c>PROXY v1 TCP 1.2.3.4:5 -&gt; 6.7.8.9:10</c>. The addresses are escaped (a Unix path
    /// is the peer's text: a newline or an escape sequence in it shows as <c>\x0A</c> or <c>\x1B</c>).
    /// </summary>
    /// <returns>The description.</returns>
    public override string ToString() => Command == ProxyProtocolCommand.Local
        ? $"PROXY v{Version} LOCAL"
        : $"PROXY v{Version} {Transport} {PeerText.Escape(Source)} -> {PeerText.Escape(Destination)}";
}
