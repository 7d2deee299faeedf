using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
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
internal sealed class ProxyProtocolDecoder : IFrameDecoder<ProxyProtocolHeader>
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

    private ProxyProtocolHeader? TryDecodeV1(ReadOnlySpan<byte> buffer)
    {
        var window = buffer[..Math.Min(buffer.Length, V1MaxLength)];
        int found = window[_scanned..].IndexOfAny((byte)'\r', (byte)'\n');
        if (found < 0)
        {
            _scanned = window.Length;
            if (window.Length == V1MaxLength)
            {
                throw new ProxyProtocolException($"No CRLF in the first {V1MaxLength} bytes of a PROXY protocol v1 header.");
            }

            return null;
        }

        int at = _scanned + found;
        if (buffer[at] == (byte)'\n')
        {
            throw new ProxyProtocolException("The PROXY protocol v1 line ends with a bare LF; CRLF is required.");
        }

        if (at + 1 >= window.Length)
        {
            // A CR as the last byte so far: wait for the next one (unless the window is full, which makes it a CR without LF).
            _scanned = at;
            if (window.Length == V1MaxLength)
            {
                throw new ProxyProtocolException($"No CRLF in the first {V1MaxLength} bytes of a PROXY protocol v1 header.");
            }

            return null;
        }

        if (buffer[at + 1] != (byte)'\n')
        {
            throw new ProxyProtocolException("The PROXY protocol v1 line has a CR that is not followed by LF.");
        }

        return ParseV1Line(buffer[V1Signature.Length..at], at + 2);
    }

    private static ProxyProtocolHeader ParseV1Line(ReadOnlySpan<byte> rest, int length)
    {
        // "UNKNOWN" alone, or followed by anything the receiver must ignore.
        if (rest.StartsWith("UNKNOWN"u8) && (rest.Length == 7 || rest[7] == (byte)' '))
        {
            return new ProxyProtocolHeader(1, ProxyProtocolCommand.Proxy, AddressFamily.Unspecified, ProxyProtocolTransport.Unspecified, null, null, [], length, hasAddresses: false);
        }

        Span<Range> fields = stackalloc Range[5];
        if (!TrySplitFive(rest, fields))
        {
            throw new ProxyProtocolException($"A PROXY protocol v1 line must be 'PROXY TCP4|TCP6 SRC DST SRCPORT DSTPORT' with single spaces; got '{Printable(rest)}'.");
        }

        var protocol = rest[fields[0]];
        AddressFamily family = protocol.SequenceEqual("TCP4"u8) ? AddressFamily.InterNetwork
            : protocol.SequenceEqual("TCP6"u8) ? AddressFamily.InterNetworkV6
            : throw new ProxyProtocolException($"Unknown PROXY protocol v1 protocol '{Printable(protocol)}' (expected TCP4, TCP6 or UNKNOWN).");

        var source = new IPEndPoint(ParseV1Address(rest[fields[1]], family), ParseV1Port(rest[fields[3]]));
        var destination = new IPEndPoint(ParseV1Address(rest[fields[2]], family), ParseV1Port(rest[fields[4]]));
        return new ProxyProtocolHeader(1, ProxyProtocolCommand.Proxy, family, ProxyProtocolTransport.Stream, source, destination, [], length, hasAddresses: true);
    }

    /// <summary>Splits on single spaces into exactly five non-empty fields.</summary>
    private static bool TrySplitFive(ReadOnlySpan<byte> text, Span<Range> fields)
    {
        int start = 0;
        for (int field = 0; field < 5; field++)
        {
            int space = text[start..].IndexOf((byte)' ');
            int end = space < 0 ? text.Length : start + space;
            if (end == start || (space < 0) != (field == 4))
            {
                return false; // an empty field (two spaces, or a space at an end), or too few or too many fields
            }

            fields[field] = start..end;
            start = end + 1;
        }

        return true;
    }

    private static IPAddress ParseV1Address(ReadOnlySpan<byte> text, AddressFamily family)
    {
        if (family == AddressFamily.InterNetwork)
        {
            return ParseDottedQuad(text) ?? throw new ProxyProtocolException($"'{Printable(text)}' is not an IPv4 address in canonical dotted-quad form.");
        }

        // IPv6: hex groups and colons (a trailing dotted quad allowed, as nginx prints IPv4-mapped addresses); no zone, no brackets.
        if (text.IsEmpty || text.ContainsAnyExcept(Ipv6Characters)
            || !IPAddress.TryParse(Encoding.ASCII.GetString(text), out var address)
            || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ProxyProtocolException($"'{Printable(text)}' is not an IPv6 address.");
        }

        return address;
    }

    /// <summary>Exactly four decimal numbers 0-255 without leading zeros, separated by single dots.</summary>
    private static IPAddress? ParseDottedQuad(ReadOnlySpan<byte> text)
    {
        Span<byte> octets = stackalloc byte[4];
        int part = 0;
        int i = 0;
        while (part < 4)
        {
            int start = i;
            int value = 0;
            while (i < text.Length && text[i] >= (byte)'0' && text[i] <= (byte)'9' && i - start < 3)
            {
                value = (value * 10) + (text[i] - '0');
                i++;
            }

            int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && text[start] == (byte)'0'))
            {
                return null;
            }

            octets[part++] = (byte)value;
            if (part < 4)
            {
                if (i >= text.Length || text[i] != (byte)'.')
                {
                    return null;
                }

                i++;
            }
        }

        return i == text.Length ? new IPAddress(octets) : null;
    }

    private static int ParseV1Port(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty || text.Length > 5 || text.ContainsAnyExceptInRange((byte)'0', (byte)'9') || (text.Length > 1 && text[0] == (byte)'0')
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            throw new ProxyProtocolException($"'{Printable(text)}' is not a port (a decimal number 0-65535 without leading zeros).");
        }

        return port;
    }

    private ProxyProtocolHeader? TryDecodeV2(ReadOnlyMemory<byte> memory)
    {
        var buffer = memory.Span;
        if (buffer.Length < V2PrefixLength)
        {
            return null;
        }

        int version = buffer[12] >> 4;
        int command = buffer[12] & 0xF;
        int familyCode = buffer[13] >> 4;
        int protocolCode = buffer[13] & 0xF;
        int length = V2PrefixLength + BinaryPrimitives.ReadUInt16BigEndian(buffer[14..]);
        if (version != 2)
        {
            throw new ProxyProtocolException($"Unsupported PROXY protocol binary version {version} (only 2 exists).");
        }

        if (command > 1)
        {
            throw new ProxyProtocolException($"Unassigned PROXY protocol v2 command 0x{command:X} (0 LOCAL and 1 PROXY exist).");
        }

        bool local = command == 0;
        if (!local && (familyCode > 3 || protocolCode > 2))
        {
            throw new ProxyProtocolException($"Unassigned PROXY protocol v2 family/protocol byte 0x{buffer[13]:X2}.");
        }

        if (length > _maxHeaderLength)
        {
            throw new ProxyProtocolException($"The PROXY protocol v2 header is {length} bytes long, more than the {_maxHeaderLength} allowed (ServerOptions.ProxyProtocolMaxHeaderLength).");
        }

        // LOCAL (a health check): the family is ignored and the connection keeps its real endpoints.
        bool hasAddresses = !local && familyCode != 0 && protocolCode != 0;
        int addressLength = !hasAddresses ? 0 : familyCode switch
        {
            1 => 12,
            2 => 36,
            _ => 2 * UnixPathLength,
        };
        if (V2PrefixLength + addressLength > length)
        {
            throw new ProxyProtocolException($"The PROXY protocol v2 address block is {length - V2PrefixLength} bytes, too short for its family (needs {addressLength}).");
        }

        if (buffer.Length < length)
        {
            return null;
        }

        var block = buffer[V2PrefixLength..length];
        var addresses = default(V2Addresses);
        var family = AddressFamily.Unspecified;
        if (hasAddresses)
        {
            addresses = ParseV2Addresses(familyCode, block);
            family = addresses.Family;
        }
        else if (!local)
        {
            family = familyCode switch { 1 => AddressFamily.InterNetwork, 2 => AddressFamily.InterNetworkV6, 3 => AddressFamily.Unix, _ => AddressFamily.Unspecified };
        }

        var transport = local ? ProxyProtocolTransport.Unspecified : (ProxyProtocolTransport)protocolCode;
        // TLVs follow a known address block only: after LOCAL or an unspecified family, the whole block is skipped unread.
        var tlvs = hasAddresses ? ParseTlvs(memory[(V2PrefixLength + addressLength)..length]) : [];
        foreach (var tlv in tlvs)
        {
            if (tlv.Type == Crc32CType)
            {
                VerifyCrc32C(buffer[..length], tlv.Value.Span);
            }
        }

        return new ProxyProtocolHeader(2, local ? ProxyProtocolCommand.Local : ProxyProtocolCommand.Proxy, family, transport, addresses.Source, addresses.Destination, tlvs, length, hasAddresses)
        {
            SourceUnixPath = addresses.SourcePath,
            DestinationUnixPath = addresses.DestinationPath,
        };
    }

    private static V2Addresses ParseV2Addresses(int familyCode, ReadOnlySpan<byte> block)
    {
        switch (familyCode)
        {
            case 1:
                return new(AddressFamily.InterNetwork,
                    new IPEndPoint(new IPAddress(block[..4]), BinaryPrimitives.ReadUInt16BigEndian(block[8..])),
                    new IPEndPoint(new IPAddress(block[4..8]), BinaryPrimitives.ReadUInt16BigEndian(block[10..])));
            case 2:
                return new(AddressFamily.InterNetworkV6,
                    new IPEndPoint(new IPAddress(block[..16]), BinaryPrimitives.ReadUInt16BigEndian(block[32..])),
                    new IPEndPoint(new IPAddress(block[16..32]), BinaryPrimitives.ReadUInt16BigEndian(block[34..])));
            default:
                var sourcePath = UnixPathBytes(block[..UnixPathLength]);
                var destinationPath = UnixPathBytes(block[UnixPathLength..(2 * UnixPathLength)]);
                return new(AddressFamily.Unix, UnixEndPoint(sourcePath), UnixEndPoint(destinationPath), sourcePath, destinationPath);
        }
    }

    /// <summary>
    /// A <c>sun_path</c>'s meaningful bytes: up to its first NUL, or all 108 when there is none (legal: the kernel takes the
    /// address length, not a terminator); a leading NUL is a Linux abstract name, whose NUL is kept. Empty when unnamed.
    /// </summary>
    private static byte[] UnixPathBytes(ReadOnlySpan<byte> field)
    {
        bool isAbstract = field[0] == 0;
        int end = field[(isAbstract ? 1 : 0)..].IndexOf((byte)0);
        int length = end < 0 ? field.Length : end + (isAbstract ? 1 : 0);
        return length == (isAbstract ? 1 : 0) ? [] : field[..length].ToArray();
    }

    /// <summary>
    /// The endpoint of a path, byte for byte. Built from a socket address rather than from a string: the string constructor
    /// wants room for a NUL (a full 108-byte path would not fit) and re-encodes the text (bytes that are not UTF-8 would
    /// change, or grow past the limit as U+FFFD). The endpoint shows invalid bytes as U+FFFD and keeps the originals.
    /// </summary>
    private static UnixDomainSocketEndPoint? UnixEndPoint(byte[] path)
    {
        if (path.Length == 0)
        {
            return null;
        }

        var address = new SocketAddress(AddressFamily.Unix, SunPathOffset + path.Length);
        path.CopyTo(address.Buffer.Span[SunPathOffset..]);
        try
        {
            return (UnixDomainSocketEndPoint)UnixTemplate.Create(address);
        }
        catch (ArgumentOutOfRangeException)
        {
            // A platform whose sun_path is shorter than Linux's 108 bytes (macOS: 104) cannot name it: no endpoint, and
            // SourceUnixPath / DestinationUnixPath still hold the bytes.
            return null;
        }
    }

    /// <summary>
    /// PP2_TYPE_CRC32C: the spec says a receiver that supports it must check it, so we do: CRC-32C (RFC 4960 appendix B)
    /// of the whole header with the checksum's 4 bytes taken as zero, sent in network byte order.
    /// </summary>
    private static void VerifyCrc32C(ReadOnlySpan<byte> header, ReadOnlySpan<byte> value)
    {
        if (value.Length != 4)
        {
            throw new ProxyProtocolException($"The PROXY protocol v2 CRC32C record has {value.Length} bytes; it must have 4.");
        }

        // Where the value sits in the header: TLV values are copied, so find it by content at a TLV position instead.
        uint expected = BinaryPrimitives.ReadUInt32BigEndian(value);
        int at = FindCrcValueOffset(header);
        uint crc = 0xFFFFFFFF;
        for (int i = 0; i < header.Length; i++)
        {
            crc = System.Numerics.BitOperations.Crc32C(crc, i >= at && i < at + 4 ? (byte)0 : header[i]);
        }

        if (~crc != expected)
        {
            throw new ProxyProtocolException($"The PROXY protocol v2 header's CRC32C is 0x{expected:X8} but its bytes give 0x{~crc:X8}.");
        }
    }

    /// <summary>The offset of the first CRC32C record's value in a v2 header already known to be well formed.</summary>
    private static int FindCrcValueOffset(ReadOnlySpan<byte> header)
    {
        int familyCode = header[13] >> 4;
        int at = V2PrefixLength + familyCode switch { 1 => 12, 2 => 36, _ => 2 * UnixPathLength };
        while (header[at] != Crc32CType)
        {
            at += 3 + BinaryPrimitives.ReadUInt16BigEndian(header[(at + 1)..]);
        }

        return at + 3;
    }

    /// <summary>The TLV records after the addresses; each must fit. Copied once, so the header does not pin a receive buffer.</summary>
    private static ProxyProtocolTlv[] ParseTlvs(ReadOnlyMemory<byte> region)
    {
        if (region.IsEmpty)
        {
            return [];
        }

        var owned = region.ToArray().AsMemory();
        var records = new List<ProxyProtocolTlv>();
        int at = 0;
        while (at < owned.Length)
        {
            if (owned.Length - at < 3)
            {
                throw new ProxyProtocolException($"A PROXY protocol v2 TLV record is cut short: {owned.Length - at} bytes left where a 3-byte type and length are needed.");
            }

            var span = owned.Span;
            byte type = span[at];
            int valueLength = BinaryPrimitives.ReadUInt16BigEndian(span[(at + 1)..]);
            if (valueLength > owned.Length - at - 3)
            {
                throw new ProxyProtocolException($"A PROXY protocol v2 TLV record (type 0x{type:X2}) says {valueLength} bytes but only {owned.Length - at - 3} remain in the header.");
            }

            records.Add(new ProxyProtocolTlv(type, owned.Slice(at + 3, valueLength)));
            at += 3 + valueLength;
        }

        return [.. records];
    }

    /// <summary>Peer bytes quoted in an error message (which may be logged): escaped, never raw.</summary>
    private static string Printable(ReadOnlySpan<byte> text) => PeerText.Escape(text);

    /// <summary>A v2 address block, decoded; the Unix paths also as the bytes they were.</summary>
    private readonly record struct V2Addresses(AddressFamily Family, EndPoint? Source, EndPoint? Destination, byte[]? SourcePath = null, byte[]? DestinationPath = null);
}
