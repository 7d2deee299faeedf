using System.Reactive.Linq;
using System.Runtime.InteropServices;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Decoders;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Marble tests for <see cref="FramingExtensions.LengthPrefixed"/> (Netty's <c>LengthFieldBasedFrameDecoder</c>).</summary>
public class LengthPrefixedTest : ReactiveTest
{
    /// <summary>A length field as a Latin-1 string (one char per byte).</summary>
    internal static string Field(ulong value, int size, bool bigEndian = true)
    {
        var bytes = new byte[size];
        FrameEncoders.WriteUnsigned(bytes, value, bigEndian);
        return System.Text.Encoding.Latin1.GetString(bytes);
    }

    /// <summary>A frame with the default layout: a 4-byte big-endian length, then the payload.</summary>
    internal static string Frame(string payload) => Field((ulong)payload.Length, 4) + payload;

    [Test]
    public void LengthPrefixed_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.LengthPrefixed(), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.LengthPrefixed(new LengthFieldOptions { LengthFieldOffset = 7, MaxFrameLength = 10 }), Throws.ArgumentException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => source.LengthPrefixed(overflow: (OverflowPolicy)2), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.LengthPrefixed(), Throws.Nothing);
            Assert.That(() => source.LengthPrefixed(new LengthFieldOptions { LengthFieldOffset = 6, MaxFrameLength = 10 }), Throws.Nothing, "a header of exactly MaxFrameLength");
        });
    }

    [Test]
    public void LengthFieldOptions_Validation()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new LengthFieldOptions { LengthFieldOffset = -1 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new LengthFieldOptions { LengthFieldSize = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new LengthFieldOptions { LengthFieldSize = 9 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new LengthFieldOptions { InitialBytesToStrip = -1 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new LengthFieldOptions { MaxFrameLength = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new LengthFieldOptions { LengthFieldSize = 3, LengthAdjustment = -5 }, Throws.Nothing);
        });

        var defaults = new LengthFieldOptions();
        Assert.Multiple(() =>
        {
            Assert.That(defaults.LengthFieldOffset, Is.EqualTo(0));
            Assert.That(defaults.LengthFieldSize, Is.EqualTo(4));
            Assert.That(defaults.BigEndian, Is.True);
            Assert.That(defaults.LengthAdjustment, Is.EqualTo(0));
            Assert.That(defaults.InitialBytesToStrip, Is.EqualTo(4), "the header by default");
            Assert.That(defaults.MaxFrameLength, Is.EqualTo(64 * 1024), "asyncio's limit");
            Assert.That(new LengthFieldOptions { LengthFieldOffset = 3, LengthFieldSize = 2 }.InitialBytesToStrip, Is.EqualTo(5));
        });
    }

    [Test]
    public void LengthPrefixed_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(150, B(Frame("ignored"))),
            OnNext(210, B(Frame("abc"))),
            OnNext(220, B(Frame(""))),
            OnNext(230, B(Frame("xy") + Frame("z"))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnNext(220, ""),
            OnNext(230, "xy"),
            OnNext(230, "z"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void LengthPrefixed_HeaderSplitOverFourChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\0")),
            OnNext(220, B("\0")),
            OnNext(230, B("\0")),
            OnNext(240, B("\u0005")),
            OnNext(250, B("hel")),
            OnNext(260, B("lo\0\0")),
            OnNext(270, B("\0\u0002ok")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(260, "hello"),
            OnNext(270, "ok"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [TestCase(1, true)]
    [TestCase(2, true)]
    [TestCase(2, false)]
    [TestCase(3, true)]
    [TestCase(3, false)]
    [TestCase(4, false)]
    [TestCase(8, true)]
    [TestCase(8, false)]
    public void LengthPrefixed_FieldSizesAndByteOrders(int size, bool bigEndian)
    {
        var options = new LengthFieldOptions { LengthFieldSize = size, BigEndian = bigEndian };
        string body = new('x', 200);
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Field(3, size, bigEndian) + "abc" + Field(200, size, bigEndian))),
            OnNext(220, B(body)),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(options).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnNext(220, body),
            OnCompleted<string>(300));
    }

    [Test]
    public void LengthPrefixed_ByteOrderIsRead()
    {
        // 0x0001 big-endian is 1; little-endian it is 256.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0003\0abc\0\u0001z")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(new LengthFieldOptions { LengthFieldSize = 2, BigEndian = false }).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnError<string>(300, Incomplete("\0\u0001z", 258)));
    }

    /// <summary>The examples of Netty's <c>LengthFieldBasedFrameDecoder</c> documentation, one per layout.</summary>
    private static IEnumerable<TestCaseData> NettyExamples()
    {
        const string Hello = "HELLO, WORLD"; // 12 bytes
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 2, InitialBytesToStrip = 0 }, "\0\u000c" + Hello, "\0\u000c" + Hello)
            .SetName("LengthPrefixed_Netty(2 bytes length field at offset 0, do not strip header)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 2, InitialBytesToStrip = 2 }, "\0\u000c" + Hello, Hello)
            .SetName("LengthPrefixed_Netty(2 bytes length field at offset 0, strip header)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 2, LengthAdjustment = -2, InitialBytesToStrip = 0 }, "\0\u000e" + Hello, "\0\u000e" + Hello)
            .SetName("LengthPrefixed_Netty(length field represents the length of the whole message)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldOffset = 2, LengthFieldSize = 3, InitialBytesToStrip = 0 }, "\u00ca\u00fe\0\0\u000c" + Hello, "\u00ca\u00fe\0\0\u000c" + Hello)
            .SetName("LengthPrefixed_Netty(3 bytes length field at the end of 5 bytes header)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 3, LengthAdjustment = 2, InitialBytesToStrip = 0 }, "\0\0\u000c\u00ca\u00fe" + Hello, "\0\0\u000c\u00ca\u00fe" + Hello)
            .SetName("LengthPrefixed_Netty(3 bytes length field at the beginning of 5 bytes header)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldOffset = 1, LengthFieldSize = 2, LengthAdjustment = 1, InitialBytesToStrip = 3 }, "\u00ca\0\u000c\u00fe" + Hello, "\u00fe" + Hello)
            .SetName("LengthPrefixed_Netty(2 bytes length field at offset 1 in the middle of 4 bytes header, strip the first header field and the length field)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldOffset = 1, LengthFieldSize = 2, LengthAdjustment = -3, InitialBytesToStrip = 3 }, "\u00ca\0\u0010\u00fe" + Hello, "\u00fe" + Hello)
            .SetName("LengthPrefixed_Netty(length field represents the length of the whole message, strip the first header field and the length field)");
    }

    [TestCaseSource(nameof(NettyExamples))]
    public void LengthPrefixed_Netty(LengthFieldOptions options, string input, string frame)
    {
        // Each example twice in one chunk, then byte by byte.
        var twice = Run(s => s.LengthPrefixed(options).Select(S), [B(input + input)]);
        var bytewise = Run(s => s.LengthPrefixed(options).Select(S), (input + input).Select(c => B(c.ToString())));
        Assert.Multiple(() =>
        {
            Assert.That(twice.Shape, Is.EqualTo($"[{Show(frame)}, {Show(frame)}] completed"));
            Assert.That(bytewise.Shape, Is.EqualTo(twice.Shape));
        });
    }

    [Test]
    public void LengthPrefixed_NegativeLengthAfterAdjustment_IsInvalidData()
    {
        // A 1-byte length that counts itself (adjustment -1): "\u0003ab" is a frame, a 0 is corrupt.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0003ab")),
            OnNext(220, B("\0")),
            OnNext(230, B("\u0001")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(new LengthFieldOptions { LengthFieldSize = 1, LengthAdjustment = -1, InitialBytesToStrip = 0 }).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "\u0003ab"),
            OnError<string>(220, static e => e is InvalidDataException));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 220));
    }

    [Test]
    public void LengthPrefixed_NegativeLength_EightByteField()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Field(3, 8) + "ab" + Field(0, 8))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(new LengthFieldOptions { LengthFieldSize = 8, LengthAdjustment = -1 }).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ab"),
            OnError<string>(210, static e => e is InvalidDataException));
    }

    [Test]
    public void LengthPrefixed_FrameShorterThanStrip_IsInvalidData()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0001a")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(new LengthFieldOptions { LengthFieldSize = 1, InitialBytesToStrip = 3 }).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, static e => e is InvalidDataException));
    }

    [Test]
    public void LengthPrefixed_HugeLengthPrefix_RefusedFromTheHeaderAlone()
    {
        // Contract 6: a peer announcing 10 GB fails the stream as soon as the 8-byte header is complete, before any body
        // is buffered (Consumed = the announced frame length); the upstream is unsubscribed at once.
        const long TenGigabytes = 10_000_000_000;
        var options = new LengthFieldOptions { LengthFieldSize = 8 };
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Field(2, 8) + "ok")),
            OnNext(220, B(Field(TenGigabytes, 8)[..5])),
            OnNext(230, B(Field(TenGigabytes, 8)[5..])),
            OnNext(240, B(new string('x', 1000))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(options).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok"),
            OnError<string>(230, Overrun(TenGigabytes + 8)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 230));
    }

    [Test]
    public void LengthPrefixed_LargestUnsignedLength_Refused()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(new LengthFieldOptions { LengthFieldSize = 8, LengthAdjustment = int.MaxValue }).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, Overrun(long.MaxValue)));
    }

    [Test]
    public void LengthPrefixed_MaxFrameLength_CountsTheWholeFrame()
    {
        // MaxFrameLength 10 with a 2-byte header: an 8-byte body (10 in all) passes, a 9-byte body (11) does not.
        var options = new LengthFieldOptions { LengthFieldSize = 2, MaxFrameLength = 10 };
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Field(8, 2) + "12345678")),
            OnNext(220, B(Field(9, 2))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(options).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "12345678"),
            OnError<string>(220, Overrun(11)));
    }

    [Test]
    public void LengthPrefixed_InputFailsInsideBody_PartialAndExpectedTravelWithTheError()
    {
        var scheduler = new TestScheduler();
        var failure = new IOException("reset");
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("a") + "\0\0\0\u0005he")),
            OnError<ReadOnlyMemory<byte>>(300, failure));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a"),
            OnError<string>(300, e => e is IncompleteReadException { Expected: 9 } ire && S(ire.Partial) == "\0\0\0\u0005he" && ReferenceEquals(ire.InnerException, failure)));
    }

    [Test]
    public void LengthPrefixed_CompletedInsideBody_ExpectedIsTheWholeFrame()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("a") + "\0\0\0\u0005he")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a"),
            OnError<string>(300, Incomplete("\0\0\0\u0005he", 9)));
    }

    [Test]
    public void LengthPrefixed_CompletedInsideHeader_ExpectedIsUnknown()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\0\0")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages, OnError<string>(300, Incomplete("\0\0", null)));
    }

    [Test]
    public void LengthPrefixed_Empty()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages, OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void LengthPrefixed_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("a"))),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages, OnNext(210, "a"), OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void LengthPrefixed_ErrorInsideFrame_PartialIsNotLost()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\0\0\0\u0005he")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnError<string>(300, e => e is IncompleteReadException ire && S(ire.Partial) == "\0\0\0\u0005he" && ReferenceEquals(ire.InnerException, ex)));
    }

    [Test]
    public void LengthPrefixed_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("a"))),
            OnNext(250, B(Frame("b") + "\0\0")),
            OnNext(400, B("\0\u0001c")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.LengthPrefixed().Select(S), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "a"), OnNext(250, "b"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }

    [Test]
    public void LengthPrefixed_FramesAreSlicesOfOwnedInput()
    {
        // Zero copy: from a source that emits owned memory (as the connection's reader does), every frame is a slice of
        // the source's own array.
        var data = B(Frame("abc") + Frame("") + Frame("defg")).ToArray();
        var source = new OwnedChunkSource(data, [], contiguous: true);

        var frames = new List<ReadOnlyMemory<byte>>();
        using (source.LengthPrefixed().Subscribe(frames.Add))
        {
        }

        Assert.That(frames.Select(S), Is.EqualTo(new[] { "abc", "", "defg" }));
        Assert.Multiple(() =>
        {
            Assert.That(MemoryMarshal.TryGetArray(frames[0], out var first) && ReferenceEquals(first.Array, data) && first.Offset == 4, Is.True);
            Assert.That(MemoryMarshal.TryGetArray(frames[2], out var third) && ReferenceEquals(third.Array, data) && third.Offset == 15, Is.True);
        });
    }

    [Test]
    public void LengthFieldDecoder_ReadsOneToEightByteFields()
    {
        for (int size = 1; size <= 8; size++)
        {
            ulong value = size == 8 ? 0x0102030405060708UL : (1UL << (8 * size)) - 3;
            var bytes = new byte[size];
            FrameEncoders.WriteUnsigned(bytes, value, bigEndian: true);
            Assert.That(LengthFieldDecoder.ReadUnsigned(bytes, bigEndian: true), Is.EqualTo(value), $"{size} bytes, big-endian");
            FrameEncoders.WriteUnsigned(bytes, value, bigEndian: false);
            Assert.That(LengthFieldDecoder.ReadUnsigned(bytes, bigEndian: false), Is.EqualTo(value), $"{size} bytes, little-endian");
            Assert.That(bytes[0], Is.EqualTo((byte)value), "little-endian starts with the low byte");
        }
    }
}
