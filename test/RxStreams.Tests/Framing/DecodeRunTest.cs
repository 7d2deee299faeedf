using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Internal;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>
/// <see cref="FrameDecoder{TFrame}.DecodeRun"/> of each built-in decoder with a run, on a buffer: a run of plain frames
/// takes every one of them, with the frames (and the bytes left after each) that <see cref="FrameDecoder{TFrame}.Decode"/> gives one at a time,
/// and stops before anything else.
/// </summary>
/// <remarks>
/// A run that stops early changes no frame (the one-frame path decodes the rest), so the framing tests cannot see it:
/// these tests pin that the run is taken, which is what pull framing's speed rests on.
/// </remarks>
public class DecodeRunTest
{
    private const int Capacity = 64;

    private static IEnumerable<(string Name, Func<FrameDecoder<ReadOnlyMemory<byte>>> Create, string Input)> Runs()
    {
        string[] payloads = ["", "a", "bc", "def", "ghij", "klmnopqrstu"];
        yield return ("Lines", BuiltInDecoders.Lines(100, OverflowPolicy.Fail), string.Concat(payloads.Select(static p => p + "\n")) + "partial");
        yield return ("Until(\\r\\n)", BuiltInDecoders.Until(B("\r\n"), 100, OverflowPolicy.Fail), string.Concat(payloads.Select(static p => p + "\r\n")) + "partial\r");
        yield return ("Until(aba), self-overlapping", BuiltInDecoders.Until(B("aba"), 100, OverflowPolicy.Fail), "xababa" + "aba" + "cabab" + "ab");
        yield return ("Exactly(3)", BuiltInDecoders.Exactly(3), "abcdefghi" + "jk");
        yield return ("LengthPrefixed (4-byte big-endian)", BuiltInDecoders.LengthPrefixed(null, OverflowPolicy.Fail), Frames(payloads, LengthPrefixedTest.Frame) + "\0\0");

        // A 4-byte little-endian field after a byte of tag, counting itself and the tag, with the tag stripped.
        var layout = new LengthFieldOptions { LengthFieldOffset = 1, LengthFieldSize = 4, BigEndian = false, LengthAdjustment = -5, InitialBytesToStrip = 1, MaxFrameLength = 100 };
        yield return ("LengthPrefixed (4-byte little-endian, offset, adjustment, strip)", BuiltInDecoders.LengthPrefixed(layout, OverflowPolicy.Fail),
            Frames(payloads, p => "T" + LengthPrefixedTest.Field((ulong)(p.Length + 5), 4, bigEndian: false) + p) + "T\u0009\0");

        var twoBytes = new LengthFieldOptions { LengthFieldSize = 2, MaxFrameLength = 100 };
        yield return ("LengthPrefixed (2-byte)", BuiltInDecoders.LengthPrefixed(twoBytes, OverflowPolicy.Fail), Frames(payloads, p => LengthPrefixedTest.Field((ulong)p.Length, 2) + p) + "\0\u0005abc");
        yield return ("VarintPrefixed", BuiltInDecoders.VarintPrefixed(1000, OverflowPolicy.Fail), Frames([.. payloads, new string('v', 200)], VarintTest.Frame) + "\u0080");
    }

    public static IEnumerable<string> PlainRuns => Runs().Select(static r => r.Name);

    [TestCaseSource(nameof(PlainRuns))]
    public void PlainFrames_TheRunTakesEveryOne_AsDecodeDoes(string name)
    {
        var (_, create, input) = Runs().Single(r => r.Name == name);
        // The buffer starts inside its array, as the read buffer's usually does: the run's slices index the array.
        var array = B("#####" + input);
        var buffer = array[5..];
        var expected = DecodeOneByOne(create(), buffer);
        var frames = new FrameSlice[Capacity];
        var bytesLeftAfter = new int[Capacity];

        int run = create().DecodeRun(buffer.Span, 5, frames, bytesLeftAfter);

        Assert.Multiple(() =>
        {
            Assert.That(run, Is.EqualTo(expected.Count), "frames in the run");
            Assert.That(frames.Take(run).Select(f => S(array.Slice(f.Start, f.Length))), Is.EqualTo(expected.Select(static e => e.Frame)));
            Assert.That(bytesLeftAfter.Take(run), Is.EqualTo(expected.Select(e => buffer.Length - e.End)), "bytes left after each frame");
        });
    }

    [TestCaseSource(nameof(PlainRuns))]
    public void ARunIsBoundedByItsSpans(string name)
    {
        var (_, create, input) = Runs().Single(r => r.Name == name);
        var frames = new FrameSlice[2];
        var bytesLeftAfter = new int[2];

        Assert.That(create().DecodeRun(B(input).Span, 0, frames, bytesLeftAfter), Is.EqualTo(2));
    }

    [TestCase("\n", "ab\n", "cd", "\nef")]
    [TestCase("\r\n", "ab\r\n", "cd\r", "\nef")]
    [TestCase("aba", "xaba", "cdab", "aef")]
    public void ARunEndingInPartOfASeparator_DecodeResumesWhereTheSeparatorCanStillStart(string separator, string frame, string tail, string rest)
    {
        // The run searched the tail; the driver consumes the run's frame, and Decode goes on when the rest arrives.
        var decoder = BuiltInDecoders.Until(B(separator), 100, OverflowPolicy.Fail)();

        int run = decoder.DecodeRun(B(frame + tail).Span, 0, new FrameSlice[Capacity], new int[Capacity]);
        var status = decoder.Decode(B(tail + rest), out var next, out int consumed);

        Assert.Multiple(() =>
        {
            Assert.That(run, Is.EqualTo(1));
            Assert.That(status, Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(next), Is.EqualTo(tail + rest[..(rest.IndexOf(separator[^1]) + 1)]));
            Assert.That(consumed, Is.EqualTo(next.Length));
        });
    }

    [Test]
    public void SeveralSeparators_HaveNoRun_TheGeneralPathDecodesThem()
    {
        var decoder = BuiltInDecoders.Until([B("\r\n"), B("\n")], 100, OverflowPolicy.Fail)();

        Assert.That(decoder.DecodeRun(B("a\nb\r\n").Span, 0, new FrameSlice[Capacity], new int[Capacity]), Is.Zero);
    }

    [Test]
    public void Separator_StopsBeforeAFrameOverTheLimit_AndDecodeReportsIt()
    {
        var decoder = BuiltInDecoders.Until(B("\r\n"), 3, OverflowPolicy.Fail)();
        var buffer = B("abc\r\n" + "abcd\r\n");

        int run = decoder.DecodeRun(buffer.Span, 0, new FrameSlice[Capacity], new int[Capacity]);

        Assert.Multiple(() =>
        {
            Assert.That(run, Is.EqualTo(1));
            Assert.That(() => decoder.Decode(buffer[5..], out _, out _), Throws.TypeOf<LimitOverrunException>());
        });
    }

    [Test]
    public void FourByteField_StopsBeforeAFrameOverTheLimit_AndDecodeReportsIt()
    {
        var layout = new LengthFieldOptions { BigEndian = false, MaxFrameLength = 10 };
        var decoder = BuiltInDecoders.LengthPrefixed(layout, OverflowPolicy.Fail)();
        string plain = LengthPrefixedTest.Field(2, 4, bigEndian: false) + "ab";
        var buffer = B(plain + plain + LengthPrefixedTest.Field(7, 4, bigEndian: false) + "1234567");

        int run = decoder.DecodeRun(buffer.Span, 0, new FrameSlice[Capacity], new int[Capacity]);

        Assert.Multiple(() =>
        {
            Assert.That(run, Is.EqualTo(2));
            Assert.That(() => decoder.Decode(buffer[(2 * plain.Length)..], out _, out _), Throws.TypeOf<LimitOverrunException>());
        });
    }

    [Test]
    public void FourByteField_StopsBeforeANegativeBody_AndDecodeReportsIt()
    {
        // The field counts the whole frame (adjustment -4): a field of 3 says the body is -1 bytes.
        var layout = new LengthFieldOptions { LengthAdjustment = -4, MaxFrameLength = 10 };
        var decoder = BuiltInDecoders.LengthPrefixed(layout, OverflowPolicy.Fail)();
        string plain = LengthPrefixedTest.Field(6, 4) + "ab";
        var buffer = B(plain + LengthPrefixedTest.Field(3, 4) + "zz");

        int run = decoder.DecodeRun(buffer.Span, 0, new FrameSlice[Capacity], new int[Capacity]);

        Assert.Multiple(() =>
        {
            Assert.That(run, Is.EqualTo(1));
            Assert.That(() => decoder.Decode(buffer[plain.Length..], out _, out _), Throws.TypeOf<InvalidDataException>());
        });
    }

    [Test]
    public void FourByteField_StopsBeforeAFrameShorterThanTheBytesToStrip_AndDecodeReportsIt()
    {
        // A 6-byte header (two bytes of tag, then the field, which counts one byte too many) and 7 bytes stripped: a frame
        // with a body of 2 is 8 bytes long and keeps its last byte; one with no body is 6 bytes long, shorter than 7.
        var layout = new LengthFieldOptions { LengthFieldOffset = 2, LengthAdjustment = -1, InitialBytesToStrip = 7, MaxFrameLength = 20 };
        var decoder = BuiltInDecoders.LengthPrefixed(layout, OverflowPolicy.Fail)();
        string plain = "TT" + LengthPrefixedTest.Field(3, 4) + "ab";
        var buffer = B(plain + "TT" + LengthPrefixedTest.Field(1, 4));

        int run = decoder.DecodeRun(buffer.Span, 0, new FrameSlice[Capacity], new int[Capacity]);

        Assert.Multiple(() =>
        {
            Assert.That(run, Is.EqualTo(1));
            Assert.That(() => decoder.Decode(buffer[plain.Length..], out _, out _), Throws.TypeOf<InvalidDataException>());
        });
    }

    private static string Frames(IEnumerable<string> payloads, Func<string, string> frame) => string.Concat(payloads.Select(frame));

    /// <summary>The frames and ends that Decode gives one at a time, until it needs more bytes.</summary>
    private static List<(string Frame, int End)> DecodeOneByOne(FrameDecoder<ReadOnlyMemory<byte>> decoder, ReadOnlyMemory<byte> buffer)
    {
        var frames = new List<(string, int)>();
        int start = 0;
        while (decoder.Decode(buffer[start..], out var frame, out int consumed) == DecodeStatus.Frame)
        {
            start += consumed;
            frames.Add((S(frame), start));
        }

        return frames;
    }
}
