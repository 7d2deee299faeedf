using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Internal;
using static RxStreams.Tests.ProxyProtocol.ProxyHeaders;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// PROXY v2 <c>AF_UNIX</c> addresses are 108 bytes of <c>sun_path</c> each: a path may fill them all without a NUL and need
/// not be UTF-8. Both are legal; they decode (never <see cref="ArgumentOutOfRangeException"/>) and the raw bytes are kept.
/// </summary>
public class ProxyProtocolUnixPathTest
{
    private static ProxyProtocolHeader Decode(byte[] bytes)
    {
        var decoder = new ProxyProtocolDecoder();
        Assert.That(decoder.TryDecode(bytes, out var header, out int consumed), Is.True);
        Assert.That(consumed, Is.EqualTo(bytes.Length));
        return header;
    }

    /// <summary>A 108-byte path without NUL: '/', then 107 letters.</summary>
    private static byte[] FullPath(byte fill = (byte)'p') => [(byte)'/', .. Enumerable.Repeat(fill, 107)];

    [Test]
    public void FullLengthPathWithoutNul_Decodes_RawBytesKept()
    {
        byte[] path = FullPath();
        var header = Decode(V2(0x1, 0x31, [.. path, .. SunPath("/run/server.sock")]));

        Assert.Multiple(() =>
        {
            Assert.That(header.Family, Is.EqualTo(AddressFamily.Unix));
            Assert.That(header.Source, Is.InstanceOf<UnixDomainSocketEndPoint>());
            Assert.That(header.Source!.ToString(), Is.EqualTo("/" + new string('p', 107)));
            Assert.That(header.SourceUnixPath.ToArray(), Is.EqualTo(path), "all 108 bytes");
            Assert.That(header.Destination!.ToString(), Is.EqualTo("/run/server.sock"));
            Assert.That(header.DestinationUnixPath.ToArray(), Is.EqualTo("/run/server.sock"u8.ToArray()), "up to the first NUL");
        });
    }

    [Test]
    public void InvalidUtf8Path_Decodes_ShownWithReplacementCharacters_RawBytesKept()
    {
        // 0xFF never occurs in UTF-8; 0xC3 starts a sequence that '(' does not continue. Each shows as U+FFFD (3 bytes in
        // UTF-8, so re-encoding the text would not even fit 108 bytes if there were many): the endpoint keeps the originals.
        byte[] path = [.. "/tmp/"u8, 0xFF, 0xC3, (byte)'(', .. Enumerable.Repeat((byte)0xFE, 100)];
        var header = Decode(V2(0x1, 0x31, [.. path, .. new byte[108]]));

        Assert.Multiple(() =>
        {
            Assert.That(header.Source!.ToString(), Does.StartWith("/tmp/\uFFFD\uFFFD("));
            Assert.That(header.SourceUnixPath.ToArray(), Is.EqualTo(path));
            Assert.That(header.Source.Serialize().Buffer.Span[2..].ToArray(), Is.EqualTo(path), "connecting to it would use the same bytes");
            Assert.That(header.Destination, Is.Null, "unnamed");
            Assert.That(header.DestinationUnixPath.IsEmpty, Is.True);
            Assert.That(PeerText.Escape(header.SourceUnixPath.Span), Does.StartWith("/tmp/\\xFF\\xC3("));
        });
    }

    [Test]
    public void FullLengthAbstractName_Decodes()
    {
        byte[] name = [0, .. Enumerable.Repeat((byte)'n', 107)];
        var header = Decode(V2(0x1, 0x31, [.. name, .. name]));

        Assert.That(header.Source!.ToString(), Is.EqualTo("@" + new string('n', 107)));
        Assert.That(header.SourceUnixPath.ToArray(), Is.EqualTo(name), "the leading NUL marks it abstract");
    }

    [Test]
    public void ForgedPath_ToStringIsEscaped()
    {
        var header = Decode(V2(0x1, 0x31, [.. SunPath("/x\n2026-12-06 INFO forged\u001b[2J"), .. SunPath("/y")]));

        Assert.That(header.ToString(), Is.EqualTo("PROXY v2 Stream /x\\x0A2026-12-06 INFO forged\\x1B[2J -> /y"));
    }

    [Test]
    public void RandomUnixBlocks_AlwaysDecode()
    {
        var random = new Random(11);
        for (int i = 0; i < 2000; i++)
        {
            var block = new byte[216];
            random.NextBytes(block);
            if (i % 3 == 0)
            {
                block[random.Next(216)] = 0; // sometimes a NUL somewhere
            }

            var header = Decode(V2(0x1, 0x31, block));
            Assert.That(header.SourceUnixPath.Length, Is.LessThanOrEqualTo(108));
        }
    }
}
