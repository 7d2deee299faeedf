using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

// Version 2: the binary header, its address block (IPv4, IPv6, Unix paths), TLVs and the CRC32C check; the type's docs are in ProxyProtocolDecoder.cs.
internal sealed partial class ProxyProtocolDecoder
{
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

    /// <summary>A v2 address block, decoded; the Unix paths also as the bytes they were.</summary>
    private readonly record struct V2Addresses(AddressFamily Family, EndPoint? Source, EndPoint? Destination, byte[]? SourcePath = null, byte[]? DestinationPath = null);
}
