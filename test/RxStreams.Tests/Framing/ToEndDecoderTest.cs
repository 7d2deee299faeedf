using NUnit.Framework;
using RxStreams.Decoders;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Unit tests of <see cref="ToEndDecoder"/> on a buffer, one behaviour each.</summary>
public class ToEndDecoderTest
{
    [Test]
    public void TryDecode_NeverReturnsAFrameBeforeTheEnd()
    {
        var decoder = new ToEndDecoder(int.MaxValue);

        Assert.That(decoder.TryDecode(B("abc\n"), out _, out _), Is.False);
    }

    [Test]
    public void TryDecode_UpToLimit_NeedsMore()
    {
        var decoder = new ToEndDecoder(4);

        Assert.That(decoder.TryDecode(B("abcd"), out _, out _), Is.False);
    }

    [Test]
    public void TryDecode_BeyondLimit_Overrun()
    {
        var decoder = new ToEndDecoder(4);

        var error = Assert.Throws<LimitOverrunException>(() => decoder.TryDecode(B("abcde"), out _, out _));
        Assert.That(error.Consumed, Is.EqualTo(4));
    }

    [Test]
    public void TryDecodeAtEnd_WholeBufferOnce()
    {
        var decoder = new ToEndDecoder(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecodeAtEnd(B("abc"), out var frame, out int consumed), Is.True);
            Assert.That(S(frame), Is.EqualTo("abc"));
            Assert.That(consumed, Is.EqualTo(3));
            Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
        });
    }

    [Test]
    public void TryDecodeAtEnd_EmptyStream_OneEmptyFrame()
    {
        // read(-1) at EOF returns b''.
        var decoder = new ToEndDecoder(0);

        Assert.Multiple(() =>
        {
            Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out var frame, out int consumed), Is.True);
            Assert.That(frame.IsEmpty, Is.True);
            Assert.That(consumed, Is.Zero);
            Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
        });
    }
}
