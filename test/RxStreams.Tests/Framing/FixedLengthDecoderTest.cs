using NUnit.Framework;
using RxStreams.Decoders;
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
    public void TryDecode_EmptyBuffer_NeedsMore()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.That(decoder.TryDecode(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
    }

    [Test]
    public void TryDecode_ShortBuffer_NeedsMore()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.That(decoder.TryDecode(B("ab"), out _, out _), Is.False);
    }

    [Test]
    public void TryDecode_ExactBuffer_OneFrame()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("abc"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("abc"));
            Assert.That(consumed, Is.EqualTo(3));
        });
    }

    [Test]
    public void TryDecode_LongerBuffer_TakesTheFirstFrame()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("abcdefg"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("abc"));
            Assert.That(consumed, Is.EqualTo(3));
        });
    }

    [Test]
    public void TryDecodeAtEnd_EmptyBuffer_CleanEnd()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: false);

        Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
    }

    [Test]
    public void TryDecodeAtEnd_Leftover_IncompleteReadWithExpectedLength()
    {
        var decoder = new FixedLengthDecoder(36, allowShortLast: false);

        var error = Assert.Throws<IncompleteReadException>(() => decoder.TryDecodeAtEnd(B("abcdefghijklmnopqr"), out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(S(error.Partial), Is.EqualTo("abcdefghijklmnopqr"));
            Assert.That(error.Expected, Is.EqualTo(36));
            Assert.That(error.Message, Is.EqualTo("18 bytes read on a total of 36 expected bytes"));
        });
    }

    [Test]
    public void TryDecodeAtEnd_AllowShortLast_LeftoverIsTheLastFrame()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: true);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecodeAtEnd(B("ab"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("ab"));
            Assert.That(consumed, Is.EqualTo(2));
        });
    }

    [Test]
    public void TryDecodeAtEnd_AllowShortLast_EmptyBuffer_CleanEnd()
    {
        var decoder = new FixedLengthDecoder(3, allowShortLast: true);

        Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
    }
}
