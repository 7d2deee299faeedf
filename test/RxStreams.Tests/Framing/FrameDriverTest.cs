using NUnit.Framework;
using RxStreams.Decoders;
using RxStreams.Framing;
using RxStreams.Internal;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Unit tests of <see cref="FrameDriver{TFrame}"/>, the one loop under the framing operators and the pull methods: what
/// it does with each decoder status, at the end of the input and when the input fails.
/// </summary>
public class FrameDriverTest
{
    /// <summary>Runs <paramref name="decoder"/> to the end of an input of <paramref name="leftover"/>, expecting an incomplete frame.</summary>
    internal static IncompleteReadException EndWith(FrameDecoder<ReadOnlyMemory<byte>> decoder, string leftover)
    {
        var buffer = Buffer(leftover);
        var driver = new FrameDriver<ReadOnlyMemory<byte>>(decoder, watchdog: null);
        Assert.That(driver.TryNext(ref buffer, out _), Is.False, "the leftover is not a frame");
        var error = Assert.Throws<IncompleteReadException>(() => driver.TryNextAtEnd(ref buffer, out _));
        Assert.That(buffer.Length, Is.Zero, "the buffer is cleared: the bytes travel in the exception");
        return error;
    }

    private static ReadBuffer Buffer(string bytes)
    {
        var buffer = default(ReadBuffer);
        buffer.Append(B(bytes).Span);
        return buffer;
    }

    private static FrameDriver<ReadOnlyMemory<byte>> Driver(FrameDecoder<ReadOnlyMemory<byte>> decoder) => new(decoder, watchdog: null);

    [Test]
    public void TryNext_SkippedFrameIsDroppedWithoutAFrame_TheNextFrameFollows()
    {
        // A 7-byte frame over a 4-byte maximum, then "ok": one call drops the first and returns the second.
        var buffer = Buffer("\u0006abcdef\u0002ok");
        var driver = Driver(new LengthFieldDecoder(new LengthFieldOptions { LengthFieldSize = 1, InitialBytesToStrip = 1, MaxFrameLength = 4 }, OverflowPolicy.Skip));

        Assert.Multiple(() =>
        {
            Assert.That(driver.TryNext(ref buffer, out var frame), Is.True);
            Assert.That(S(frame), Is.EqualTo("ok"));
            Assert.That(buffer.Length, Is.Zero);
        });
    }

    [Test]
    public void TryNext_NeedsMore_KeepsTheBytes()
    {
        var buffer = Buffer("ab");
        var driver = Driver(SeparatorDecoder.ForLines(100, SeparatorDecoder.AtEnd.EmitPartial));

        Assert.Multiple(() =>
        {
            Assert.That(driver.TryNext(ref buffer, out _), Is.False);
            Assert.That(buffer.Length, Is.EqualTo(2));
        });
    }

    [Test]
    public void TryNext_ResyncingDecoder_RaisesTheOverrunAfterTheDrop_InTheSameCall()
    {
        // readline: the over-long line is gone through its '\n' when the overrun surfaces; the next line stays.
        var buffer = Buffer("123456\nab\n");
        var driver = Driver(SeparatorDecoder.ForLines(5, SeparatorDecoder.AtEnd.EmitPartialOrEmpty, SeparatorDecoder.OnOverrun.Resync));

        Assert.Throws<LimitOverrunException>(() => driver.TryNext(ref buffer, out _));
        Assert.Multiple(() =>
        {
            Assert.That(buffer.Length, Is.EqualTo(3));
            Assert.That(driver.TryNext(ref buffer, out var frame), Is.True);
            Assert.That(S(frame), Is.EqualTo("ab\n"));
        });
    }

    [Test]
    public void TryNext_FailingDecoder_LeavesTheBuffer()
    {
        // readuntil: LimitOverrunException.Consumed refers to bytes that must still be there.
        var buffer = Buffer("123456");
        var driver = Driver(SeparatorDecoder.ForLines(5, SeparatorDecoder.AtEnd.Throw));

        Assert.Throws<LimitOverrunException>(() => driver.TryNext(ref buffer, out _));
        Assert.That(buffer.Length, Is.EqualTo(6));
    }

    [Test]
    public void TryNextAtEnd_LastFrameThatConsumedNothing_IsTheLastOne()
    {
        var buffer = default(ReadBuffer);
        var driver = Driver(SeparatorDecoder.ForLines(100, SeparatorDecoder.AtEnd.EmitPartialOrEmpty));

        Assert.Multiple(() =>
        {
            Assert.That(driver.TryNextAtEnd(ref buffer, out var frame), Is.True);
            Assert.That(frame.IsEmpty, Is.True);
            Assert.That(driver.TryNextAtEnd(ref buffer, out _), Is.False, "asking again would give the same empty frame forever");
        });
    }

    [Test]
    public void TryNextAtEnd_LengthPrefixedFrameCutShort_ExpectedIsItsLength()
    {
        var error = EndWith(new LengthFieldDecoder(new LengthFieldOptions { LengthFieldSize = 1 }, OverflowPolicy.Fail), "\u0005ab");

        Assert.Multiple(() =>
        {
            Assert.That(S(error.Partial), Is.EqualTo("\u0005ab"));
            Assert.That(error.Expected, Is.EqualTo(6), "header included");
        });
    }

    [Test]
    public void LastFrame_NothingLeft_IncompleteReadWithTheExpectedLength()
    {
        // readexactly(4) at the end of the input: asyncio raises IncompleteReadError(b'', 4).
        var buffer = default(ReadBuffer);
        var driver = Driver(new FixedLengthDecoder(4, allowShortLast: false));

        var error = Assert.Throws<IncompleteReadException>(() => driver.LastFrame(ref buffer));
        Assert.Multiple(() =>
        {
            Assert.That(error.Partial.IsEmpty, Is.True);
            Assert.That(error.Expected, Is.EqualTo(4));
        });
    }

    [Test]
    public void Fail_InsideAFrame_IncompleteReadWithItsBytesExpectedLengthAndTheError()
    {
        var decoder = new LengthFieldDecoder(new LengthFieldOptions { LengthFieldSize = 1 }, OverflowPolicy.Fail);
        var buffer = Buffer("\u0005ab");
        var driver = Driver(decoder);
        Assert.That(driver.TryNext(ref buffer, out _), Is.False);
        var reset = new IOException("reset");

        var error = driver.Fail(ref buffer, reset);

        Assert.Multiple(() =>
        {
            Assert.That(error, Is.InstanceOf<IncompleteReadException>());
            Assert.That(S(((IncompleteReadException)error).Partial), Is.EqualTo("\u0005ab"));
            Assert.That(((IncompleteReadException)error).Expected, Is.EqualTo(6));
            Assert.That(error.InnerException, Is.SameAs(reset));
            Assert.That(buffer.Length, Is.Zero);
            Assert.That(decoder.ExpectedFrameLength, Is.Null, "the decoder was reset");
        });
    }

    [Test]
    public void Fail_BetweenFrames_TheErrorItself()
    {
        var buffer = default(ReadBuffer);
        var driver = Driver(new FixedLengthDecoder(4, allowShortLast: false));
        var reset = new IOException("reset");

        Assert.That(driver.Fail(ref buffer, reset), Is.SameAs(reset));
    }

    [Test]
    public void UserDecoder_FrameThatConsumedMoreThanBuffered_BrokenContract()
    {
        var buffer = Buffer("ab");
        var driver = new FrameDriver<int>(new UserFrameDecoder<int>(new GreedyDecoder()), watchdog: null);

        var error = Assert.Throws<InvalidOperationException>(() => driver.TryNext(ref buffer, out _));
        Assert.That(error.Message, Does.Contain(nameof(GreedyDecoder)), "names the user's decoder, not the adapter");
    }

    [Test]
    public void UserDecoder_CleanEndWithBytesLeft_KeepsThem()
    {
        // IFrameDecoder.TryDecodeAtEnd returning false is a clean end, whatever is left.
        var buffer = Buffer("ab");
        var driver = new FrameDriver<int>(new UserFrameDecoder<int>(new GreedyDecoder()), watchdog: null);

        Assert.Multiple(() =>
        {
            Assert.That(driver.TryNextAtEnd(ref buffer, out _), Is.False);
            Assert.That(buffer.Length, Is.EqualTo(2));
        });
    }

    /// <summary>Claims one byte more than it was given (a broken decoder).</summary>
    private sealed class GreedyDecoder : IFrameDecoder<int>
    {
        public bool TryDecode(ReadOnlyMemory<byte> buffer, out int frame, out int consumed)
        {
            frame = 0;
            consumed = buffer.Length + 1;
            return true;
        }

        public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out int frame, out int consumed)
        {
            frame = 0;
            consumed = 0;
            return false;
        }
    }
}
