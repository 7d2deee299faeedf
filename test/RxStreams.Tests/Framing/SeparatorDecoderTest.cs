using NUnit.Framework;
using RxStreams.Decoders;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Unit tests of <see cref="SeparatorDecoder"/> on a buffer, one behaviour each (tokio-util <c>tests/codecs.rs</c> style).</summary>
public class SeparatorDecoderTest
{
    private static SeparatorDecoder Until(string separator, int limit = 64 * 1024) =>
        new([B(separator).ToArray()], limit, SeparatorDecoder.AtEnd.Throw);

    /// <summary>Separators shortest first, as <c>Separators.Normalize</c> hands them over.</summary>
    private static SeparatorDecoder UntilAny(int limit, params string[] separatorsByLength) =>
        new([.. separatorsByLength.Select(static s => B(s).ToArray())], limit, SeparatorDecoder.AtEnd.Throw);

    [Test]
    public void TryDecode_EmptyBuffer_NeedsMore()
    {
        var decoder = Until(";");

        Assert.That(decoder.TryDecode(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
    }

    [Test]
    public void TryDecode_NoSeparator_NeedsMore()
    {
        var decoder = Until(";");

        Assert.That(decoder.TryDecode(B("abc"), out _, out _), Is.False);
    }

    [Test]
    public void TryDecode_FrameIncludesSeparator()
    {
        var decoder = Until("\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("ab\r\n"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("ab\r\n"));
            Assert.That(consumed, Is.EqualTo(4));
        });
    }

    [Test]
    public void TryDecode_SeparatorOnly_IsAFrame()
    {
        var decoder = Until(";");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B(";"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo(";"));
            Assert.That(consumed, Is.EqualTo(1));
        });
    }

    [Test]
    public void TryDecode_TakesOnlyTheFirstFrame()
    {
        var decoder = Until(";");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("a;bb;c"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("a;"));
            Assert.That(consumed, Is.EqualTo(2));
        });
    }

    [Test]
    public void TryDecode_FrameIsASliceOfTheBuffer()
    {
        var buffer = B("ab;c");
        var decoder = Until(";");

        decoder.TryDecode(buffer, out var frame, out _);

        Assert.That(frame.Span.Overlaps(buffer.Span), Is.True, "no copy is made: the buffer is immutable");
    }

    [Test]
    public void TryDecode_PartialSeparator_NeedsMore()
    {
        var decoder = Until("\r\n", 4);

        Assert.That(decoder.TryDecode(B("abcd\r"), out _, out _), Is.False, "asyncio: \"abcd\\r\" alone waits");
    }

    [Test]
    public void TryDecode_SeparatorCompletedAsTheBufferGrows()
    {
        // Same start, more bytes: the decoder resumes its scan and still sees a separator split over three calls.
        var decoder = Until("SEP");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("abS"), out _, out _), Is.False);
            Assert.That(decoder.TryDecode(B("abSE"), out _, out _), Is.False);
            Assert.That(decoder.TryDecode(B("abSEPx"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("abSEP"));
            Assert.That(consumed, Is.EqualTo(5));
        });
    }

    [Test]
    public void TryDecode_SelfOverlappingSeparatorAcrossCalls()
    {
        // "aab" with "ab": after "aa" the scan may resume at 1, not 2.
        var decoder = Until("ab");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("xaa"), out _, out _), Is.False);
            Assert.That(decoder.TryDecode(B("xaab"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("xaab"));
        });
    }

    [Test]
    public void TryDecode_ScanRestartsAfterAFrame()
    {
        // After a frame the next buffer starts `consumed` bytes later; the scan position must not carry over.
        var decoder = Until(";");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("aaaaaaaa"), out _, out _), Is.False);
            Assert.That(decoder.TryDecode(B("aaaaaaaa;"), out _, out int consumed), Is.True);
            Assert.That(consumed, Is.EqualTo(9));
            Assert.That(decoder.TryDecode(B("b;"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("b;"));
        });
    }

    [Test]
    public void Reset_ForgetsTheScanPosition()
    {
        // The pull methods consume the buffer behind the decoder's back and then call Reset.
        var decoder = Until(";");
        decoder.TryDecode(B("aaaaaaaa"), out _, out _);

        decoder.Reset();

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("b;"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("b;"));
        });
    }

    [Test]
    public void TryDecode_FrameOfExactlyLimit_Accepted()
    {
        var decoder = Until("\n", 5);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("12345\n"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("12345\n"));
        });
    }

    [Test]
    public void TryDecode_LimitBytesWithoutSeparator_NeedsMore()
    {
        var decoder = Until("\n", 5);

        Assert.That(decoder.TryDecode(B("12345"), out _, out _), Is.False);
    }

    [Test]
    public void TryDecode_LimitPlusOneWithoutSeparator_Overrun()
    {
        var decoder = Until("\n", 5);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.TryDecode(B("123456"), out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(error.Consumed, Is.EqualTo(6));
            Assert.That(error.Message, Does.StartWith("Separator is not found"));
        });
    }

    [Test]
    public void TryDecode_SeparatorBeyondLimit_Overrun()
    {
        var decoder = Until("\n", 5);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.TryDecode(B("123456\nabc"), out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(error.Consumed, Is.EqualTo(6));
            Assert.That(error.Message, Does.StartWith("Separator is found"));
        });
    }

    [Test]
    public void TryDecode_MultiByteSeparatorNotFound_ConsumedExcludesAPossibleSeparatorPrefix()
    {
        // L=4, "abcdefgSE", "SEP": consumed = 9 + 1 - 3 = 7.
        var decoder = Until("SEP", 4);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.TryDecode(B("abcdefgSE"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(7));
    }

    [Test]
    public void TryDecode_LimitWithMultiByteSeparator_Accepted()
    {
        // "abcd\r\n" with "\r\n", L=4.
        var decoder = Until("\r\n", 4);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("abcd\r"), out _, out _), Is.False);
            Assert.That(decoder.TryDecode(B("abcd\r\n"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("abcd\r\n"));
        });
    }

    [Test]
    public void TryDecode_SeveralSeparators_EarliestEndWins()
    {
        var decoder = UntilAny(100, "BC", "ABCD");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("xABCD"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("xABC"));
        });
    }

    [Test]
    public void TryDecode_SeveralSeparators_TieGoesToShortest()
    {
        // "a\r\n": "\n" (start 2) and "\r\n" (start 1) both end at 3; "\n" wins, so with L=1 the frame is too long.
        var decoder = UntilAny(1, "\n", "\r\n");

        var error = Assert.Throws<LimitOverrunException>(() => decoder.TryDecode(B("a\r\n"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(2));
    }

    [Test]
    public void TryDecode_SeveralSeparators_NotFoundUsesTheLongest()
    {
        var decoder = UntilAny(4, ";", "SEP");

        var error = Assert.Throws<LimitOverrunException>(() => decoder.TryDecode(B("abcdefgSE"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(7));
    }

    [Test]
    public void TryDecode_SeveralSeparators_LongOneSplitAcrossCalls()
    {
        var decoder = UntilAny(100, ";", "SEP");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("abS"), out _, out _), Is.False);
            Assert.That(decoder.TryDecode(B("abSE"), out _, out _), Is.False);
            Assert.That(decoder.TryDecode(B("abSEP;"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("abSEP"));
        });
    }

    [Test]
    public void TryDecodeAtEnd_EmptyBuffer_CleanEnd()
    {
        var decoder = Until(";");

        Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
    }

    [Test]
    public void TryDecodeAtEnd_Leftover_IncompleteRead()
    {
        var decoder = Until(";");

        var error = Assert.Throws<IncompleteReadException>(() => decoder.TryDecodeAtEnd(B("ab"), out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(S(error.Partial), Is.EqualTo("ab"));
            Assert.That(error.Expected, Is.Null);
            Assert.That(error.Message, Is.EqualTo("2 bytes read on a total of undefined expected bytes"));
        });
    }

    [Test]
    public void TryDecodeAtEnd_EmitPartial_LeftoverIsTheLastLine()
    {
        var decoder = SeparatorDecoder.ForLines(100, SeparatorDecoder.AtEnd.EmitPartial);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecodeAtEnd(B("tail"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("tail"));
            Assert.That(consumed, Is.EqualTo(4));
            Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
        });
    }

    [Test]
    public void ForLines_SplitsOnNewLine()
    {
        var decoder = SeparatorDecoder.ForLines(100, SeparatorDecoder.AtEnd.Throw);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecode(B("a\r\nb"), out var frame, out _), Is.True);
            Assert.That(S(frame), Is.EqualTo("a\r\n"));
        });
    }
}
