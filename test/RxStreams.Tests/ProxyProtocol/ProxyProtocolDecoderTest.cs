using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Internal;
using static RxStreams.Tests.ProxyProtocol.ProxyHeaders;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// <see cref="ProxyProtocolDecoder"/> on buffers: the examples and limits of HAProxy's <c>proxy-protocol.txt</c>, every
/// split position (a header cut anywhere decodes the same), and malformed input refused with <see cref="ProxyProtocolException"/>.
/// </summary>
public class ProxyProtocolDecoderTest
{
    private static readonly IPEndPoint V4Source = new(IPAddress.Parse("192.168.0.1"), 56324);
    private static readonly IPEndPoint V4Destination = new(IPAddress.Parse("192.168.0.11"), 443);
    private static readonly IPEndPoint V6Source = new(IPAddress.Parse("2001:db8::1"), 65535);
    private static readonly IPEndPoint V6Destination = new(IPAddress.Parse("2001:db8:0:0:1:0:0:2"), 0);

    /// <summary>Decodes <paramref name="bytes"/> given all at once; fails if no header comes out.</summary>
    private static ProxyProtocolHeader Decode(byte[] bytes, int maxHeaderLength = 4096)
    {
        var decoder = new ProxyProtocolDecoder(maxHeaderLength);
        Assert.That(decoder.TryDecode(bytes, out var header, out int consumed), Is.True, "a complete header decodes");
        Assert.That(consumed, Is.EqualTo(header.Length));
        return header;
    }

    private static ProxyProtocolException Refuse(byte[] bytes, int maxHeaderLength = 4096) =>
        Assert.Throws<ProxyProtocolException>(() => new ProxyProtocolDecoder(maxHeaderLength).TryDecode(bytes, out _, out _))!;

    /// <summary>Everything a header says, as one string, so two decodes can be compared.</summary>
    private static string Describe(ProxyProtocolHeader header) =>
        $"v{header.Version} {header.Command} {header.Family} {header.Transport} {header.Source} {header.Destination} len={header.Length} " +
        string.Join(",", header.Tlvs.Select(static t => $"{t.Type:X2}:{Convert.ToHexString(t.Value.Span)}"));

    /// <summary>
    /// For every cut position: the prefix alone needs more bytes, and the prefix followed by the rest (the same decoder, as
    /// the reader calls it) gives the same header as the whole. Then one byte at a time.
    /// </summary>
    private static void AssertSplitInvariant(byte[] bytes)
    {
        string whole = Describe(Decode(bytes));
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            var decoder = new ProxyProtocolDecoder();
            bool early = decoder.TryDecode(bytes.AsMemory(0, cut), out _, out _);
            Assert.That(early, Is.False, $"a header cut at {cut} of {bytes.Length} bytes is incomplete");
            Assert.That(decoder.TryDecode(bytes, out var header, out _), Is.True, $"cut at {cut}");
            Assert.That(Describe(header), Is.EqualTo(whole), $"cut at {cut}");
        }

        var byteByByte = new ProxyProtocolDecoder();
        for (int length = 1; length < bytes.Length; length++)
        {
            Assert.That(byteByByte.TryDecode(bytes.AsMemory(0, length), out _, out _), Is.False, $"{length} bytes");
        }

        Assert.That(byteByByte.TryDecode(bytes, out var last, out _), Is.True);
        Assert.That(Describe(last), Is.EqualTo(whole));
    }

    [Test]
    public void V1_SpecExample_Tcp4_ConsumesOnlyTheLine()
    {
        var bytes = Ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n");

        var header = new ProxyProtocolDecoder();
        Assert.That(header.TryDecode(bytes, out var decoded, out int consumed), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(consumed, Is.EqualTo("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".Length));
            Assert.That(decoded.Version, Is.EqualTo(1));
            Assert.That(decoded.Command, Is.EqualTo(ProxyProtocolCommand.Proxy));
            Assert.That(decoded.Family, Is.EqualTo(AddressFamily.InterNetwork));
            Assert.That(decoded.Transport, Is.EqualTo(ProxyProtocolTransport.Stream));
            Assert.That(decoded.Source, Is.EqualTo(V4Source));
            Assert.That(decoded.Destination, Is.EqualTo(V4Destination));
            Assert.That(decoded.Tlvs, Is.Empty);
        });
    }

    [Test]
    public void V1_Tcp4_LongestLine_Is56Bytes()
    {
        var bytes = Ascii("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");

        var header = Decode(bytes);

        Assert.Multiple(() =>
        {
            Assert.That(bytes, Has.Length.EqualTo(56), "the spec's figure");
            Assert.That(header.Source, Is.EqualTo(new IPEndPoint(IPAddress.Broadcast, 65535)));
        });
    }

    [Test]
    public void V1_Tcp6_FullAndCompressedForms()
    {
        var full = Decode(Ascii("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"));
        var compressed = Decode(Ascii("PROXY TCP6 2001:db8::1 2001:DB8:0:0:1::2 65535 0\r\n"));

        Assert.Multiple(() =>
        {
            Assert.That(full.Length, Is.EqualTo(104), "the spec's figure for TCP6");
            Assert.That(full.Family, Is.EqualTo(AddressFamily.InterNetworkV6));
            Assert.That(compressed.Source, Is.EqualTo(V6Source));
            Assert.That(compressed.Destination, Is.EqualTo(V6Destination));
        });
    }

    [Test]
    public void V1_Tcp6_Ipv4MappedAsNginxPrintsIt()
    {
        var header = Decode(Ascii("PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1 2\r\n"));

        Assert.That(((IPEndPoint)header.Source!).Address, Is.EqualTo(IPAddress.Parse("::ffff:10.0.0.1")));
    }

    [TestCase("PROXY UNKNOWN\r\n")]
    [TestCase("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n")]
    [TestCase("PROXY UNKNOWN anything at all, ignored\r\n")]
    public void V1_Unknown_KeepsNoAddresses(string line)
    {
        var header = Decode(Ascii(line));

        Assert.Multiple(() =>
        {
            Assert.That(header.Length, Is.EqualTo(line.Length));
            Assert.That(header.Command, Is.EqualTo(ProxyProtocolCommand.Proxy));
            Assert.That(header.Family, Is.EqualTo(AddressFamily.Unspecified));
            Assert.That(header.Source, Is.Null);
            Assert.That(header.Destination, Is.Null);
        });
    }

    [Test]
    public void V1_WorstCase_Is107Bytes_AndAccepted()
    {
        var line = Ascii("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");

        Assert.That(line, Has.Length.EqualTo(ProxyProtocolDecoder.V1MaxLength));
        Assert.That(Decode(line).Length, Is.EqualTo(107));
    }

    [Test]
    public void V1_NoCrlfIn107Bytes_RefusedWhenThe107thByteArrives()
    {
        var line = Ascii("PROXY UNKNOWN " + new string('x', 200));
        var decoder = new ProxyProtocolDecoder();

        Assert.That(decoder.TryDecode(line.AsMemory(0, 106), out _, out _), Is.False, "106 bytes: a CRLF may still come");
        var error = Assert.Throws<ProxyProtocolException>(() => decoder.TryDecode(line.AsMemory(0, 107), out _, out _));
        Assert.That(error!.Message, Does.Contain("107"));
    }

    [Test]
    public void V1_CrAsThe107thByte_IsNotACrlf()
    {
        var line = Ascii("PROXY UNKNOWN " + new string('x', 92) + "\r\n");

        Assert.That(line, Has.Length.EqualTo(108));
        Refuse(line);
    }

    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "bare LF")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n", "CR that is not followed by LF")]
    [TestCase("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "single spaces")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "single spaces")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "single spaces")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "single spaces")]
    [TestCase("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "TCP5")]
    [TestCase("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "tcp4")]
    [TestCase("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "01.2.3.4")]
    [TestCase("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "1.2.3")]
    [TestCase("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", "1.2.3.4.5")]
    [TestCase("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", "256.2.3.4")]
    [TestCase("PROXY TCP4 0x7f.0.0.1 5.6.7.8 1 2\r\n", "0x7f.0.0.1")]
    [TestCase("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "::1")]
    [TestCase("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "1.2.3.4")]
    [TestCase("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "fe80::1%eth0")]
    [TestCase("PROXY TCP6 [::1] ::1 1 2\r\n", "[::1]")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "'01'")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "'65536'")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "'-1'")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", "'+1'")]
    [TestCase("PROXY UNKNOWNX\r\n", "UNKNOWNX")]
    [TestCase("PROXY \r\n", "single spaces")]
    public void V1_Malformed_Refused(string line, string said)
    {
        var error = Refuse(Ascii(line));

        Assert.That(error.Message, Does.Contain(said));
    }

    [TestCase("GET / HTTP/1.1\r\n", 1)]
    [TestCase("PROXX TCP4", 5)]
    [TestCase("PROXY\tTCP4", 6)]
    [TestCase("proxy TCP4", 1)]
    [TestCase("\r\n\r\n\0\r\nQUIX", 11)]
    public void NotAHeader_RefusedAsSoonAsTheFirstWrongByteArrives(string start, int refusedAt)
    {
        var bytes = Ascii(start);
        var decoder = new ProxyProtocolDecoder();
        for (int length = 1; length < refusedAt; length++)
        {
            Assert.That(decoder.TryDecode(bytes.AsMemory(0, length), out _, out _), Is.False, $"{length} bytes still fit a signature");
        }

        var error = Assert.Throws<ProxyProtocolException>(() => decoder.TryDecode(bytes.AsMemory(0, refusedAt), out _, out _));
        Assert.That(error!.Message, Does.Contain("does not start with a PROXY protocol header"));
    }

    [Test]
    public void V2_Tcp4_FollowedByData_ConsumesOnlyTheHeader()
    {
        byte[] bytes = [.. V2Tcp(V4Source, V4Destination), .. Ascii("hello")];

        var decoder = new ProxyProtocolDecoder();
        Assert.That(decoder.TryDecode(bytes, out var header, out int consumed), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(consumed, Is.EqualTo(16 + 12));
            Assert.That(header.Version, Is.EqualTo(2));
            Assert.That(header.Command, Is.EqualTo(ProxyProtocolCommand.Proxy));
            Assert.That(header.Family, Is.EqualTo(AddressFamily.InterNetwork));
            Assert.That(header.Transport, Is.EqualTo(ProxyProtocolTransport.Stream));
            Assert.That(header.Source, Is.EqualTo(V4Source));
            Assert.That(header.Destination, Is.EqualTo(V4Destination));
        });
    }

    [Test]
    public void V2_Tcp6()
    {
        var header = Decode(V2Tcp(V6Source, V6Destination));

        Assert.Multiple(() =>
        {
            Assert.That(header.Length, Is.EqualTo(16 + 36));
            Assert.That(header.Family, Is.EqualTo(AddressFamily.InterNetworkV6));
            Assert.That(header.Source, Is.EqualTo(V6Source));
            Assert.That(header.Destination, Is.EqualTo(V6Destination));
        });
    }

    [Test]
    public void V2_Udp4_IsDatagram()
    {
        var tcp = V2Tcp(V4Source, V4Destination);
        tcp[13] = 0x12;

        Assert.That(Decode(tcp).Transport, Is.EqualTo(ProxyProtocolTransport.Datagram));
    }

    [Test]
    public void V2_UnixStream_PathsAndAbstractNames()
    {
        var header = Decode(V2(0x1, 0x31, [.. SunPath("/run/client.sock"), .. SunPath("\0service")]));

        Assert.Multiple(() =>
        {
            Assert.That(header.Length, Is.EqualTo(16 + 216));
            Assert.That(header.Family, Is.EqualTo(AddressFamily.Unix));
            Assert.That(header.Source!.ToString(), Is.EqualTo("/run/client.sock"));
            Assert.That(header.Destination!.ToString(), Is.EqualTo("@service"), ".NET prints an abstract name with '@'");
        });
    }

    [Test]
    public void V2_UnixStream_UnnamedClient_HasNoSource()
    {
        var header = Decode(V2(0x1, 0x31, [.. new byte[108], .. SunPath("/run/server.sock")]));

        Assert.Multiple(() =>
        {
            Assert.That(header.Source, Is.Null, "a client socket that was never bound has no name");
            Assert.That(header.Destination!.ToString(), Is.EqualTo("/run/server.sock"));
        });
    }

    [Test]
    public void V2_Local_IgnoresFamilyAndAddresses()
    {
        // A health check: LOCAL, and whatever follows is skipped (the spec: the receiver must not assume len is 0).
        var header = Decode(V2(0x0, 0x11, new byte[12]));
        var bare = Decode(V2(0x0, 0x00, []));
        var oddFamily = Decode(V2(0x0, 0xFF, [1, 2, 3]));

        Assert.Multiple(() =>
        {
            Assert.That(header.Command, Is.EqualTo(ProxyProtocolCommand.Local));
            Assert.That(header.Length, Is.EqualTo(28));
            Assert.That(header.Source, Is.Null);
            Assert.That(header.Family, Is.EqualTo(AddressFamily.Unspecified));
            Assert.That(bare.Length, Is.EqualTo(16));
            Assert.That(oddFamily.Length, Is.EqualTo(19), "LOCAL discards the protocol block, family included");
        });
    }

    [TestCase((byte)0x00)]
    [TestCase((byte)0x10)]
    [TestCase((byte)0x01)]
    public void V2_ProxyWithUnspecifiedFamilyOrProtocol_KeepsNoAddresses(byte familyProtocol)
    {
        var header = Decode(V2(0x1, familyProtocol, new byte[12]));

        Assert.Multiple(() =>
        {
            Assert.That(header.Command, Is.EqualTo(ProxyProtocolCommand.Proxy));
            Assert.That(header.Source, Is.Null);
            Assert.That(header.Length, Is.EqualTo(28));
        });
    }

    [Test]
    public void V2_Tlvs_ReadInOrder_AndOwned()
    {
        byte[] bytes = V2Tcp(V4Source, V4Destination, Tlv(0x02, Ascii("example.com")), Tlv(0x04, []), Tlv(0xEA, [1, 2, 3]));

        var header = Decode(bytes);
        bytes.AsSpan().Clear(); // the header must not depend on the receive buffer

        Assert.Multiple(() =>
        {
            Assert.That(header.Tlvs.Select(static t => t.Type), Is.EqualTo(new byte[] { 0x02, 0x04, 0xEA }));
            Assert.That(System.Text.Encoding.ASCII.GetString(header.FindTlv(0x02)!.Value.Span), Is.EqualTo("example.com"));
            Assert.That(header.FindTlv(0x04)!.Value.Length, Is.Zero);
            Assert.That(header.FindTlv(0x05), Is.Null);
            Assert.That(header.Length, Is.EqualTo(16 + 12 + 14 + 3 + 6));
        });
    }

    [Test]
    public void V2_TlvOverrunningTheHeader_Refused()
    {
        var tlv = Tlv(0x02, Ascii("abc"));
        tlv[2] = 4; // says 4 bytes, 3 follow

        Assert.That(Refuse(V2Tcp(V4Source, V4Destination, tlv)).Message, Does.Contain("TLV"));
    }

    [Test]
    public void V2_TlvCutInsideItsTypeAndLength_Refused()
    {
        Assert.That(Refuse(V2Tcp(V4Source, V4Destination, [0x02, 0x00])).Message, Does.Contain("cut short"));
    }

    [Test]
    public void V2_Crc32C_Verified()
    {
        var good = WithCrc32C(V2Tcp(V4Source, V4Destination, Tlv(0x05, Ascii("id-1")), Tlv(0x03, new byte[4])));
        var bad = (byte[])good.Clone();
        bad[17] ^= 1; // one address bit flipped after the checksum was computed

        Assert.Multiple(() =>
        {
            Assert.That(Decode(good).FindTlv(0x03)!.Value.Length, Is.EqualTo(4));
            Assert.That(Refuse(bad).Message, Does.Contain("CRC32C"));
            Assert.That(Refuse(V2Tcp(V4Source, V4Destination, Tlv(0x03, new byte[3]))).Message, Does.Contain("must have 4"));
        });
    }

    [TestCase((byte)0x11, "version 1")]
    [TestCase((byte)0x31, "version 3")]
    public void V2_VersionOtherThan2_Refused(byte versionCommand, string said)
    {
        var bytes = V2Tcp(V4Source, V4Destination);
        bytes[12] = versionCommand;

        Assert.That(Refuse(bytes).Message, Does.Contain(said));
    }

    [TestCase((byte)0x22, (byte)0x11, "command 0x2")]
    [TestCase((byte)0x2F, (byte)0x11, "command 0xF")]
    [TestCase((byte)0x21, (byte)0x41, "0x41")]
    [TestCase((byte)0x21, (byte)0x13, "0x13")]
    public void V2_UnassignedCommandFamilyOrProtocol_Refused(byte versionCommand, byte familyProtocol, string said)
    {
        var bytes = V2Tcp(V4Source, V4Destination);
        bytes[12] = versionCommand;
        bytes[13] = familyProtocol;

        Assert.That(Refuse(bytes.AsSpan(0, 16).ToArray()).Message, Does.Contain(said), "refused from the 16-byte prefix");
    }

    [TestCase((byte)0x11, 11)]
    [TestCase((byte)0x21, 35)]
    [TestCase((byte)0x31, 215)]
    public void V2_AddressBlockTooShortForItsFamily_RefusedFromThePrefix(byte familyProtocol, int length)
    {
        var prefix = V2(0x1, familyProtocol, [], declaredLength: length);

        Assert.That(Refuse(prefix).Message, Does.Contain("too short"));
    }

    [Test]
    public void V2_LongerThanTheMaximum_RefusedFromThePrefix()
    {
        var prefix = V2(0x1, 0x11, [], declaredLength: 4096 - 16 + 1);

        var error = Refuse(prefix);

        Assert.That(error.Message, Does.Contain("4097").And.Contain("4096"));
    }

    [Test]
    public void V2_AtTheMaximum_Accepted_UpToTheFormatsLargest()
    {
        var atDefault = V2Tcp(V4Source, V4Destination, Tlv(0x04, new byte[4096 - 16 - 12 - 3]));
        var largest = V2Tcp(V4Source, V4Destination, Tlv(0x04, new byte[ushort.MaxValue - 12 - 3]));

        Assert.Multiple(() =>
        {
            Assert.That(Decode(atDefault).Length, Is.EqualTo(4096));
            Assert.That(Decode(largest, ProxyProtocolDecoder.V2MaxLength).Length, Is.EqualTo(16 + 65535));
        });
    }

    [Test]
    public void EveryHeader_EverySplitPosition_SameResult()
    {
        byte[][] headers =
        [
            Ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
            Ascii("PROXY TCP6 2001:db8::1 2001:db8::1:0:0:2 65535 0\r\n"),
            Ascii("PROXY UNKNOWN\r\n"),
            Ascii("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
            V2Tcp(V4Source, V4Destination),
            V2Tcp(V6Source, V6Destination, Tlv(0x01, Ascii("h2")), Tlv(0x05, [9, 9])),
            V2(0x1, 0x31, [.. SunPath("/a"), .. SunPath("/b")]),
            V2(0x0, 0x00, []),
            WithCrc32C(V2Tcp(V6Source, V6Destination, Tlv(0x03, new byte[4]))),
        ];

        foreach (var header in headers)
        {
            AssertSplitInvariant(header);
        }
    }

    [Test]
    public void EndOfInput_BeforeOrInsideTheHeader_Refused()
    {
        var decoder = new ProxyProtocolDecoder();

        var none = Assert.Throws<ProxyProtocolException>(() => decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _));
        var partial = Assert.Throws<ProxyProtocolException>(() => decoder.TryDecodeAtEnd(Ascii("PROXY TCP4 1."), out _, out _));

        Assert.Multiple(() =>
        {
            Assert.That(none!.Message, Does.Contain("before a PROXY protocol header"));
            Assert.That(partial!.Message, Does.Contain("after 13 bytes"));
        });
    }

    [TestCase(231)]
    [TestCase(65552)]
    public void MaxHeaderLength_OutOfRange_Throws(int maxHeaderLength)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ProxyProtocolDecoder(maxHeaderLength));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ServerOptions { ProxyProtocolMaxHeaderLength = maxHeaderLength });
    }

    [Test]
    public void ServerOptions_Defaults_AndTimeoutChecks()
    {
        var options = new ServerOptions();

        Assert.Multiple(() =>
        {
            Assert.That(options.ProxyProtocol, Is.EqualTo(ProxyProtocolMode.Off));
            Assert.That(options.ProxyProtocolTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.ProxyProtocolMaxHeaderLength, Is.EqualTo(4096));
            Assert.Throws<ArgumentOutOfRangeException>(() => options.ProxyProtocolTimeout = TimeSpan.Zero);
            Assert.Throws<ArgumentOutOfRangeException>(() => options.ProxyProtocolTimeout = TimeSpan.FromSeconds(-2));
            Assert.DoesNotThrow(() => options.ProxyProtocolTimeout = Timeout.InfiniteTimeSpan);
        });
    }
}
