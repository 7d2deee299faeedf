using System.Net;
using NUnit.Framework;
using RxStreams.Internal;
using static RxStreams.Tests.ProxyProtocol.ProxyHeaders;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// Seeded random inputs through <see cref="ProxyProtocolDecoder"/>: valid headers mutated byte by byte and random bytes,
/// each cut at random points. Whatever the bytes, the decoder either decodes a header that fits the input or refuses
/// with <see cref="ProxyProtocolException"/> (nothing else escapes), and the outcome never depends on the cuts.
/// </summary>
public class ProxyProtocolFuzzTest
{
    private const int Iterations = 3000; // bounded: a few hundred milliseconds

    private static readonly byte[][] Seeds =
    [
        Ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
        Ascii("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n"),
        Ascii("PROXY UNKNOWN\r\n"),
        V2Tcp(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 1000), new IPEndPoint(IPAddress.Parse("10.3.2.1"), 2000), Tlv(0x02, Ascii("host"))),
        V2Tcp(new IPEndPoint(IPAddress.IPv6Loopback, 1), new IPEndPoint(IPAddress.IPv6Loopback, 2)),
        V2(0x1, 0x31, [.. SunPath("/x"), .. SunPath("\0y")]),
        V2(0x0, 0x00, []),
    ];

    /// <summary>The outcome of feeding <paramref name="input"/> in the pieces <paramref name="cuts"/> makes: a header or an error message kind.</summary>
    private static string Outcome(byte[] input, IReadOnlyList<int> cuts)
    {
        var decoder = new ProxyProtocolDecoder();
        try
        {
            foreach (int end in cuts.Append(input.Length))
            {
                if (decoder.TryDecode(input.AsMemory(0, end), out var header, out int consumed))
                {
                    Assert.That(consumed, Is.InRange(1, end), "a header consumes only bytes it was given");
                    return $"header v{header.Version} {header.Command} {header.Source} {header.Destination} {consumed} {header.Tlvs.Count}";
                }
            }

            decoder.TryDecodeAtEnd(input, out _, out _);
            return "end without error";
        }
        catch (ProxyProtocolException)
        {
            return "refused";
        }
    }

    private static int[] RandomCuts(Random random, int length)
    {
        if (length < 2)
        {
            return [];
        }

        return [.. Enumerable.Range(0, random.Next(0, 5)).Select(_ => random.Next(1, length)).Distinct().Order()];
    }

    [Test]
    public void MutatedHeaders_DecodeOrRefuse_IndependentOfCuts()
    {
        int seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int decoded = 0, refused = 0;
        for (int i = 0; i < Iterations; i++)
        {
            var input = (byte[])Seeds[random.Next(Seeds.Length)].Clone();
            for (int m = random.Next(0, 3); m > 0; m--)
            {
                input[random.Next(input.Length)] = (byte)random.Next(256);
            }

            if (random.Next(4) == 0)
            {
                input = [.. input, .. RandomBytes(random.Next(0, 20), random)];
            }

            string whole = Outcome(input, []);
            string cut = Outcome(input, RandomCuts(random, input.Length));
            Assert.That(cut, Is.EqualTo(whole), $"seed {seed}, iteration {i}, input {Convert.ToHexString(input)}");
            if (whole.StartsWith("header", StringComparison.Ordinal))
            {
                decoded++;
            }
            else
            {
                Assert.That(whole, Is.EqualTo("refused"), "a complete v1/v2 seed never just ends: it decodes or is refused");
                refused++;
            }
        }

        TestContext.Out.WriteLine($"{decoded} decoded, {refused} refused");
        Assert.That(decoded, Is.Positive, "some mutations keep the header valid (e.g. an address byte)");
        Assert.That(refused, Is.Positive);
    }

    [Test]
    public void RandomBytes_NeverEscapeAsAnythingButProxyProtocolException()
    {
        int seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (int i = 0; i < Iterations; i++)
        {
            // Half of the inputs start with a real signature so the parsers behind it are exercised too.
            byte[] prefix = random.Next(3) switch { 0 => Ascii("PROXY "), 1 => [.. V2Signature, 0x21], _ => [] };
            var input = prefix.Concat(RandomBytes(random.Next(0, 300), random)).ToArray();
            if (input.Length == 0)
            {
                continue;
            }

            string whole = Outcome(input, []);
            string cut = Outcome(input, RandomCuts(random, input.Length));
            Assert.That(cut, Is.EqualTo(whole), $"seed {seed}, iteration {i}, input {Convert.ToHexString(input)}");
        }
    }

    private static byte[] RandomBytes(int length, Random random)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
