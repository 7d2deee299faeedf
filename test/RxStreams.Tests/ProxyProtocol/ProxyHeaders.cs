using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>Hand-built PROXY protocol headers (HAProxy's <c>proxy-protocol.txt</c>), written byte by byte from the spec.</summary>
internal static class ProxyHeaders
{
    public static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>A v2 header: signature, version 2 + <paramref name="command"/>, <paramref name="familyProtocol"/>, length, then <paramref name="body"/>.</summary>
    public static byte[] V2(byte command, byte familyProtocol, byte[] body, int? declaredLength = null)
    {
        var header = new byte[16 + body.Length];
        V2Signature.CopyTo(header, 0);
        header[12] = (byte)(0x20 | command);
        header[13] = familyProtocol;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(declaredLength ?? body.Length));
        body.CopyTo(header, 16);
        return header;
    }

    /// <summary>A v2 PROXY header for TCP over IPv4 or IPv6 (family from the addresses), with optional TLV records after the addresses.</summary>
    public static byte[] V2Tcp(IPEndPoint source, IPEndPoint destination, params byte[][] tlvs)
    {
        bool v6 = source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var body = new List<byte>();
        body.AddRange(source.Address.GetAddressBytes());
        body.AddRange(destination.Address.GetAddressBytes());
        body.AddRange(Port(source.Port));
        body.AddRange(Port(destination.Port));
        foreach (var tlv in tlvs)
        {
            body.AddRange(tlv);
        }

        return V2(0x1, v6 ? (byte)0x21 : (byte)0x11, [.. body]);
    }

    /// <summary>One TLV record: type, big-endian length, value.</summary>
    public static byte[] Tlv(byte type, byte[] value) => [type, (byte)(value.Length >> 8), (byte)value.Length, .. value];

    /// <summary>A 108-byte <c>sun_path</c> holding <paramref name="path"/> (a leading NUL for an abstract name), NUL-padded.</summary>
    public static byte[] SunPath(string path)
    {
        var bytes = new byte[108];
        Encoding.UTF8.GetBytes(path).CopyTo(bytes, 0);
        return bytes;
    }

    /// <summary>
    /// <paramref name="header"/> (a v2 header whose last TLV is a 4-byte CRC32C record) with its checksum filled in:
    /// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, RFC 4960 appendix B) over the header with the value zeroed,
    /// computed bit by bit here so the test does not share the library's code.
    /// </summary>
    public static byte[] WithCrc32C(byte[] header)
    {
        var copy = (byte[])header.Clone();
        copy.AsSpan(copy.Length - 4).Clear();
        uint crc = 0xFFFFFFFF;
        foreach (byte b in copy)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
            }
        }

        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(copy.Length - 4), ~crc);
        return copy;
    }

    private static byte[] Port(int port) => [(byte)(port >> 8), (byte)port];
}
