using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RxStreams.Internal;

// Version 1: the text line ("PROXY TCP4 src dst sport dport\r\n") and its strict field parsers; the type's docs are in ProxyProtocolDecoder.cs.
internal sealed partial class ProxyProtocolDecoder
{
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
}
