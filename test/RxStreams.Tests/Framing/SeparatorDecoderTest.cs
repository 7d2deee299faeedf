using NUnit.Framework;
using RxStreams.Decoders;
using RxStreams.Internal;
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
    public void Decode_EmptyBuffer_NeedsMore()
    {
        var decoder = Until(";");

        Assert.That(decoder.Decode(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void Decode_NoSeparator_NeedsMore()
    {
        var decoder = Until(";");

        Assert.That(decoder.Decode(B("abc"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void Decode_FrameIncludesSeparator()
    {
        var decoder = Until("\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("ab\r\n"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("ab\r\n"));
            Assert.That(consumed, Is.EqualTo(4));
        });
    }

    [Test]
    public void Decode_SeparatorOnly_IsAFrame()
    {
        var decoder = Until(";");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B(";"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo(";"));
            Assert.That(consumed, Is.EqualTo(1));
        });
    }

    [Test]
    public void Decode_TakesOnlyTheFirstFrame()
    {
        var decoder = Until(";");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("a;bb;c"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("a;"));
            Assert.That(consumed, Is.EqualTo(2));
        });
    }

    [Test]
    public void Decode_FrameIsASliceOfTheBuffer()
    {
        var buffer = B("ab;c");
        var decoder = Until(";");

        decoder.Decode(buffer, out var frame, out _);

        Assert.That(frame.Span.Overlaps(buffer.Span), Is.True, "no copy is made: the buffer is immutable");
    }

    [Test]
    public void Decode_PartialSeparator_NeedsMore()
    {
        var decoder = Until("\r\n", 4);

        Assert.That(decoder.Decode(B("abcd\r"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData), "asyncio: \"abcd\\r\" alone waits");
    }

    [Test]
    public void Decode_SeparatorCompletedAsTheBufferGrows()
    {
        // Same start, more bytes: the decoder resumes its scan and still sees a separator split over three calls.
        var decoder = Until("SEP");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abS"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.Decode(B("abSE"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.Decode(B("abSEPx"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("abSEP"));
            Assert.That(consumed, Is.EqualTo(5));
        });
    }

    [Test]
    public void Decode_SelfOverlappingSeparatorAcrossCalls()
    {
        // "aab" with "ab": after "aa" the scan may resume at 1, not 2.
        var decoder = Until("ab");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("xaa"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.Decode(B("xaab"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("xaab"));
        });
    }

    [Test]
    public void Decode_ScanRestartsAfterAFrame()
    {
        // After a frame the next buffer starts `consumed` bytes later; the scan position must not carry over.
        var decoder = Until(";");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("aaaaaaaa"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.Decode(B("aaaaaaaa;"), out _, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(consumed, Is.EqualTo(9));
            Assert.That(decoder.Decode(B("b;"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("b;"));
        });
    }

    [Test]
    public void Reset_ForgetsTheScanPosition()
    {
        // The pull methods consume the buffer behind the decoder's back and then call Reset.
        var decoder = Until(";");
        decoder.Decode(B("aaaaaaaa"), out _, out _);

        decoder.Reset();

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("b;"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("b;"));
        });
    }

    [Test]
    public void Decode_FrameOfExactlyLimit_Accepted()
    {
        var decoder = Until("\n", 5);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("12345\n"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("12345\n"));
        });
    }

    [Test]
    public void Decode_LimitBytesWithoutSeparator_NeedsMore()
    {
        var decoder = Until("\n", 5);

        Assert.That(decoder.Decode(B("12345"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void Decode_LimitPlusOneWithoutSeparator_Overrun()
    {
        var decoder = Until("\n", 5);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(B("123456"), out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(error.Consumed, Is.EqualTo(6));
            Assert.That(error.Message, Does.StartWith("Separator is not found"));
        });
    }

    [Test]
    public void Decode_SeparatorBeyondLimit_Overrun()
    {
        var decoder = Until("\n", 5);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(B("123456\nabc"), out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(error.Consumed, Is.EqualTo(6));
            Assert.That(error.Message, Does.StartWith("Separator is found"));
        });
    }

    [Test]
    public void Decode_MultiByteSeparatorNotFound_ConsumedExcludesAPossibleSeparatorPrefix()
    {
        // L=4, "abcdefgSE", "SEP": consumed = 9 + 1 - 3 = 7.
        var decoder = Until("SEP", 4);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(B("abcdefgSE"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(7));
    }

    [Test]
    public void Decode_LimitWithMultiByteSeparator_Accepted()
    {
        // "abcd\r\n" with "\r\n", L=4.
        var decoder = Until("\r\n", 4);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abcd\r"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.Decode(B("abcd\r\n"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("abcd\r\n"));
        });
    }

    [Test]
    public void Decode_SeveralSeparators_EarliestEndWins()
    {
        var decoder = UntilAny(100, "BC", "ABCD");

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("xABCD"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("xABC"));
        });
    }

    [Test]
    public void Decode_SeveralSeparators_TieGoesToShortest()
    {
        // "a\r\n": "\n" (start 2) and "\r\n" (start 1) both end at 3; "\n" wins, so with L=1 the frame is too long.
        var decoder = UntilAny(1, "\n", "\r\n");

        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(B("a\r\n"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(2));
    }

    [Test]
    public void Decode_SeveralSeparators_NotFoundUsesTheLongest()
    {
        var decoder = UntilAny(4, ";", "SEP");

        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(B("abcdefgSE"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(7));
    }

    [Test]
    public void Decode_SeveralSeparators_LongOneSplitAcrossCalls()
    {
        var decoder = UntilAny(100, ";", "SEP");
        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abS"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.Decode(B("abSE"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.Decode(B("abSEP;"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("abSEP"));
        });
    }

    [Test]
    public void DecodeAtEnd_EmptyBuffer_CleanEnd()
    {
        var decoder = Until(";");

        // Nothing left: the driver ends cleanly.
        Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void DecodeAtEnd_Leftover_IncompleteRead()
    {
        var decoder = Until(";");

        Assert.That(decoder.DecodeAtEnd(B("ab"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData), "an unfinished frame");

        var error = FrameDriverTest.EndWith(Until(";"), "ab");
        Assert.Multiple(() =>
        {
            Assert.That(S(error.Partial), Is.EqualTo("ab"));
            Assert.That(error.Expected, Is.Null);
            Assert.That(error.Message, Is.EqualTo("2 bytes read on a total of undefined expected bytes"));
        });
    }

    [Test]
    public void DecodeAtEnd_EmitPartial_LeftoverIsTheLastLine()
    {
        var decoder = SeparatorDecoder.ForLines(100, SeparatorDecoder.AtEnd.EmitPartial);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.DecodeAtEnd(B("tail"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("tail"));
            Assert.That(consumed, Is.EqualTo(4));
            Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
        });
    }

    [Test]
    public void ForLines_SplitsOnNewLine()
    {
        var decoder = SeparatorDecoder.ForLines(100, SeparatorDecoder.AtEnd.Throw);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("a\r\nb"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("a\r\n"));
        });
    }

    [Test]
    public void DecodeAtEnd_EmitPartialOrEmpty_NothingLeftIsAnEmptyLastLine()
    {
        // readline at EOF returns b'': an empty frame that consumed nothing (the driver stops after it).
        var decoder = SeparatorDecoder.ForLines(100, SeparatorDecoder.AtEnd.EmitPartialOrEmpty);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.DecodeAtEnd(B("tail"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That((S(frame), consumed), Is.EqualTo(("tail", 4)));
            Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out frame, out consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That((frame.IsEmpty, consumed), Is.EqualTo((true, 0)));
        });
    }

    [Test]
    public void Skip_CompleteOverLongFrame_OneOverrunThroughItsSeparator()
    {
        var decoder = new SeparatorDecoder([B(";").ToArray()], 3, SeparatorDecoder.AtEnd.Throw, SeparatorDecoder.OnOverrun.Skip);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abcdef;gh;"), out _, out int dropped), Is.EqualTo(DecodeStatus.Overrun));
            Assert.That(dropped, Is.EqualTo(7));
            Assert.That(decoder.Decode(B("gh;"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("gh;"));
        });
    }

    [Test]
    public void Skip_UnfinishedOverLongFrame_OverrunOnce_ThenSkippedAsItArrives_UntilItsSeparator()
    {
        var decoder = SeparatorDecoder.ForLines(3, SeparatorDecoder.AtEnd.EmitPartial, SeparatorDecoder.OnOverrun.Skip);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abcdef"), out _, out int dropped), Is.EqualTo(DecodeStatus.Overrun), "counted once");
            Assert.That(dropped, Is.EqualTo(6));
            Assert.That(decoder.Decode(B("gh"), out _, out dropped), Is.EqualTo(DecodeStatus.Skipped));
            Assert.That(dropped, Is.EqualTo(2));
            Assert.That(decoder.Decode(B("i\nj"), out _, out dropped), Is.EqualTo(DecodeStatus.Skipped), "through the separator");
            Assert.That(dropped, Is.EqualTo(2));
            Assert.That(decoder.Decode(B("j"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
            Assert.That(decoder.DecodeAtEnd(B("j"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("j"));
        });
    }

    [Test]
    public void Skip_EndWhileDiscarding_IsACleanEnd()
    {
        var decoder = new SeparatorDecoder([B("\r\n").ToArray()], 3, SeparatorDecoder.AtEnd.Throw, SeparatorDecoder.OnOverrun.Skip);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.Decode(B("abcdef\r"), out _, out int dropped), Is.EqualTo(DecodeStatus.Overrun));
            Assert.That(dropped, Is.EqualTo(6), "the '\\r' might start the separator: kept");
            Assert.That(decoder.DecodeAtEnd(B("\r"), out _, out _), Is.EqualTo(DecodeStatus.End));
        });
    }

    [Test]
    public void Resync_OverLongLineWithItsSeparator_DroppedThroughIt_ThenTheOverrun()
    {
        // asyncio's readline: the over-long line leaves the buffer through its '\n', then ValueError is raised.
        var decoder = SeparatorDecoder.ForLines(5, SeparatorDecoder.AtEnd.EmitPartialOrEmpty, SeparatorDecoder.OnOverrun.Resync);

        Assert.That(decoder.Decode(B("123456\nab\n"), out _, out int dropped), Is.EqualTo(DecodeStatus.Skipped));
        Assert.That(dropped, Is.EqualTo(7));
        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(B("ab\n"), out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(error.Consumed, Is.EqualTo(6), "as the Fail mode reports it");
            Assert.That(error.Message, Does.StartWith("Separator is found"));
            Assert.That(decoder.Decode(B("ab\n"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame), "the next line");
            Assert.That(S(frame), Is.EqualTo("ab\n"));
        });
    }

    [Test]
    public void Resync_OverLongLineWithoutItsSeparator_EverythingDropped_ThenTheOverrun_TheRestComesAsALine()
    {
        var decoder = SeparatorDecoder.ForLines(5, SeparatorDecoder.AtEnd.EmitPartialOrEmpty, SeparatorDecoder.OnOverrun.Resync);

        Assert.That(decoder.Decode(B("1234567"), out _, out int dropped), Is.EqualTo(DecodeStatus.Skipped));
        Assert.That(dropped, Is.EqualTo(7));
        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(ReadOnlyMemory<byte>.Empty, out _, out _));
        Assert.Multiple(() =>
        {
            Assert.That(error.Consumed, Is.EqualTo(7));
            Assert.That(error.Message, Does.StartWith("Separator is not found"));
            Assert.That(decoder.Decode(B("89\n"), out var frame, out _), Is.EqualTo(DecodeStatus.Frame), "no discarding: the rest is a line");
            Assert.That(S(frame), Is.EqualTo("89\n"));
        });
    }

    [Test]
    public void Resync_Reset_ForgetsThePendingOverrun()
    {
        var decoder = SeparatorDecoder.ForLines(5, SeparatorDecoder.AtEnd.EmitPartialOrEmpty, SeparatorDecoder.OnOverrun.Resync);
        decoder.Decode(B("123456\n"), out _, out _);

        decoder.Reset();

        Assert.That(decoder.Decode(B("ab\n"), out _, out _), Is.EqualTo(DecodeStatus.Frame));
    }
}
