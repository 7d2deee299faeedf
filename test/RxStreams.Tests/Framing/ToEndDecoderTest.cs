using NUnit.Framework;
using RxStreams.Decoders;
using RxStreams.Internal;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Unit tests of <see cref="ToEndDecoder"/> on a buffer, one behaviour each.</summary>
public class ToEndDecoderTest
{
    [Test]
    public void Decode_NeverReturnsAFrameBeforeTheEnd()
    {
        var decoder = new ToEndDecoder(int.MaxValue);

        Assert.That(decoder.Decode(B("abc\n"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void Decode_UpToLimit_NeedsMore()
    {
        var decoder = new ToEndDecoder(4);

        Assert.That(decoder.Decode(B("abcd"), out _, out _), Is.EqualTo(DecodeStatus.NeedMoreData));
    }

    [Test]
    public void Decode_BeyondLimit_Overrun()
    {
        var decoder = new ToEndDecoder(4);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.Decode(B("abcde"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(4));
    }

    [Test]
    public void DecodeAtEnd_WholeBufferOnce()
    {
        var decoder = new ToEndDecoder(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.DecodeAtEnd(B("abc"), out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(S(frame), Is.EqualTo("abc"));
            Assert.That(consumed, Is.EqualTo(3));
            Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.End));
        });
    }

    [Test]
    public void DecodeAtEnd_EmptyStream_OneEmptyFrame()
    {
        // read(-1) at EOF returns b''.
        var decoder = new ToEndDecoder(0);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out var frame, out int consumed), Is.EqualTo(DecodeStatus.Frame));
            Assert.That(frame.IsEmpty, Is.True);
            Assert.That(consumed, Is.Zero);
            Assert.That(decoder.DecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.EqualTo(DecodeStatus.End));
        });
    }
}
