using NUnit.Framework;
using RxStreams.Decoders;
using RxStreams.Internal;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Unit tests of <see cref="FixedLengthDecoder"/> on a buffer, one behaviour each.</summary>
public class FixedLengthDecoderTest
{
    [Test]
    public void Properties_AreTheConstructorArguments()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: true);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Length, Is.EqualTo(3));
            Assert.That(decoder.AllowShortLast, Is.True);
        });
    }

    [Test]
    public void Decode_EmptyBuffer_NeedsMore()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.That(decoder.Decode(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void Decode_ShortBuffer_NeedsMore()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.That(decoder.Decode(B("ab"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void Decode_ExactBuffer_OneFrame()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abc"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("abc"));
            Assert.That(consumed, Is.EqualTo(3));
        });
    }

    [Test]
    public void Decode_LongerBuffer_TakesTheFirstFrame()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abcdefg"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("abc"));
            Assert.That(consumed, Is.EqualTo(3));
        });
    }

    [Test]
    public void DecodeAtEnd_EmptyBuffer_CleanEnd()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        // Nothing left: the driver ends cleanly.
        Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void DecodeAtEnd_Leftover_IncompleteReadWithExpectedLength()
    {
        var decoder = new FixedLengthDecoder(36, allowShortLast: false);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.DecodeAtEnd(B("abcdefghijklmnopqr"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData), "an unfinished frame");
            Assert.That(decoder.ExpectedFrameLength, Is.EqualTo(36));
        });

        var error = FrameDriverTest.EndWith(decoder, "abcdefghijklmnopqr");
        Assert.Multiple(() =>
        {
            Assert.That(S(error.Partial), Is.EqualTo("abcdefghijklmnopqr"));
            Assert.That(error.Expected, Is.EqualTo(36));
            Assert.That(error.Message, Is.EqualTo("18 bytes read on a total of 36 expected bytes"));
        });
    }

    [Test]
    public void DecodeAtEnd_AllowShortLast_LeftoverIsTheLastFrame()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: true);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.DecodeAtEnd(B("ab"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("ab"));
            Assert.That(consumed, Is.EqualTo(2));
        });
    }

    [Test]
    public void DecodeAtEnd_AllowShortLast_EmptyBuffer_CleanEnd()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: true);

        // Nothing left: the driver ends cleanly.
        Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }
}
