using System.Net.Sockets;
using RxStreams.Framing;

namespace RxStreams.Internal;

/// <summary>
/// Decodes one PROXY protocol header (HAProxy's <c>proxy-protocol.txt</c>, version 1 text or version 2 binary) from the
/// start of a connection's bytes. Pure: no I/O, no clock; the server's setup step feeds it the reader's buffer, so the
/// bytes after the header stay buffered for the handler (or a TLS handshake).
/// </summary>
/// <remarks>
/// <para>States (resumable: called again with the same bytes plus more, it picks up where it stopped):</para>
/// <code>
/// Detect ──"PROXY " prefix──────────► V1: scan for LF within 107 bytes (cursor kept) ─► parse the line ─► done
///    │   ──12-byte v2 signature────► V2: wait for 16 bytes ─► check ver/cmd/fam/len ─► wait 16+len ─► done
///    └── a byte that fits neither ──► ProxyProtocolException (as soon as it arrives: the spec says abort early)
/// </code>
/// <para>
/// Everything that does not match the specification exactly is refused with <see cref="ProxyProtocolException"/>: a bare
/// CR or LF, a missing CRLF in the first 107 bytes, double spaces, leading zeros, a v2 version other than 2, unassigned
/// commands, families or protocols, an address block too short for its family, TLVs that overrun the header, a CRC32C
/// TLV that does not match, or a v2 header longer than the configured maximum (checked from its 16-byte prefix, before
/// the rest is buffered).
/// </para>
/// </remarks>
internal sealed partial class ProxyProtocolDecoder : IFrameDecoder<ProxyProtocolHeader>
{
    /// <summary>The longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports).</summary>
    public const int V1MaxLength = 107;

    /// <summary>The fixed part of a v2 header: signature, version/command, family/protocol, length.</summary>
    public const int V2PrefixLength = 16;

    /// <summary>The longest v2 header the format can describe.</summary>
    public const int V2MaxLength = V2PrefixLength + ushort.MaxValue;

    /// <summary>The smallest maximum that still admits every address family (two 108-byte Unix paths).</summary>
    public const int MinMaxHeaderLength = V2PrefixLength + 216;

    private const int UnixPathLength = 108;
    private const int SunPathOffset = 2; // sockaddr_un: sa_family_t, then sun_path
    private static readonly UnixDomainSocketEndPoint UnixTemplate = new("template");
    private const byte Crc32CType = 0x03;

    private readonly int _maxHeaderLength;
    private int _version; // 0 while the signature is not yet known
    private int _scanned; // v1: how many bytes were already searched for the LF

    /// <summary>Creates a decoder for one connection.</summary>
    /// <param name="maxHeaderLength">The longest v2 header accepted, TLVs included (v1 lines are always limited to 107 bytes).</param>
    public ProxyProtocolDecoder(int maxHeaderLength = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHeaderLength, MinMaxHeaderLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxHeaderLength, V2MaxLength);
        _maxHeaderLength = maxHeaderLength;
    }

    private static readonly System.Buffers.SearchValues<byte> Ipv6Characters = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF:."u8);

    private static ReadOnlySpan<byte> V1Signature => "PROXY "u8;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <inheritdoc/>
    public bool TryDecode(ReadOnlyMemory<byte> buffer, out ProxyProtocolHeader frame, out int consumed)
    {
        frame = null!;
        consumed = 0;
        if (_version == 0)
        {
            _version = DetectVersion(buffer.Span);
            if (_version == 0)
            {
                return false;
            }
        }

        var header = _version == 1 ? TryDecodeV1(buffer.Span) : TryDecodeV2(buffer);
        if (header is null)
        {
            return false;
        }

        frame = header;
        consumed = header.Length;
        return true;
    }

    /// <inheritdoc/>
    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out ProxyProtocolHeader frame, out int consumed) =>
        throw new ProxyProtocolException(buffer.IsEmpty
            ? "The connection ended before a PROXY protocol header arrived."
            : $"The connection ended inside a PROXY protocol header, after {buffer.Length} bytes.");

    /// <summary>1 or 2 once the buffer starts with a signature, 0 while it is a prefix of one; throws when it cannot be.</summary>
    private static int DetectVersion(ReadOnlySpan<byte> buffer)
    {
        if (StartsLike(buffer, V1Signature))
        {
            return buffer.Length >= V1Signature.Length ? 1 : 0;
        }

        if (StartsLike(buffer, V2Signature))
        {
            return buffer.Length >= V2Signature.Length ? 2 : 0;
        }

        int shown = Math.Min(buffer.Length, 16);
        throw new ProxyProtocolException(
            $"The connection does not start with a PROXY protocol header (v1 \"PROXY \" or the v2 signature); its first bytes are {Convert.ToHexString(buffer[..shown])}.");
    }

    /// <summary>Whether the buffer agrees with <paramref name="signature"/> for as many bytes as both have.</summary>
    private static bool StartsLike(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> signature)
    {
        int length = Math.Min(buffer.Length, signature.Length);
        return buffer[..length].SequenceEqual(signature[..length]);
    }

    /// <summary>Peer bytes quoted in an error message (which may be logged): escaped, never raw.</summary>
    private static string Printable(ReadOnlySpan<byte> text) => PeerText.Escape(text);
}
