using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Decoders;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Marble tests for <see cref="FramingExtensions.VarintPrefixed"/> (protobuf's <c>writeDelimitedTo</c> framing).</summary>
public class VarintTest : ReactiveTest
{
    /// <summary>A varint as a Latin-1 string (one char per byte).</summary>
    internal static string Varint(ulong value)
    {
        var bytes = new byte[10];
        int length = FrameEncoders.WriteVarint(bytes, value);
        return System.Text.Encoding.Latin1.GetString(bytes, 0, length);
    }

    /// <summary>A varint-prefixed frame.</summary>
    internal static string Frame(string payload) => Varint((ulong)payload.Length) + payload;

    [Test]
    public void VarintPrefixed_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.VarintPrefixed(), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.VarintPrefixed(0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("maxFrameLength"));
            Assert.That(() => source.VarintPrefixed(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("maxFrameLength"));
            Assert.That(() => source.VarintPrefixed(overflow: (OverflowPolicy)(-1)), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.VarintPrefixed(1), Throws.Nothing);
        });
    }

    [Test]
    public void Varint_Encoding_MatchesProtobuf()
    {
        // Protobuf's documented examples: 1 = 01, 150 = 96 01, 300 = AC 02; and the 10-byte maximum.
        Assert.Multiple(() =>
        {
            Assert.That(Varint(0), Is.EqualTo("\0"));
            Assert.That(Varint(1), Is.EqualTo("\u0001"));
            Assert.That(Varint(150), Is.EqualTo("\u0096\u0001"));
            Assert.That(Varint(300), Is.EqualTo("\u00ac\u0002"));
            Assert.That(Varint(ulong.MaxValue), Has.Length.EqualTo(10));
            Assert.That(VarintLengthDecoder.TryReadVarint(B(Varint(ulong.MaxValue)).Span, out ulong max, out int length) && max == ulong.MaxValue && length == 10, Is.True);
        });
    }

    [Test]
    public void VarintPrefixed_Basic()
    {
        string big = new('x', 300);
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(150, B(Frame("ignored"))),
            OnNext(210, B(Frame("abc"))),
            OnNext(220, B(Frame(""))),
            OnNext(230, B(Frame(big) + Frame("z"))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnNext(220, ""),
            OnNext(230, big),
            OnNext(230, "z"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void VarintPrefixed_VarintSplitAcrossChunks()
    {
        // 300 = AC 02, one byte per chunk, then the body in two pieces.
        string body = new('y', 300);
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u00ac")),
            OnNext(220, B("\u0002")),
            OnNext(230, B(body[..100])),
            OnNext(240, B(body[100..] + "\u0001")),
            OnNext(250, B("k")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(240, body),
            OnNext(250, "k"),
            OnCompleted<string>(300));
    }

    [Test]
    public void VarintPrefixed_NonMinimalVarint_Accepted()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0082\u0080\0ab")),                                                  // 2 in three bytes
            OnNext(220, B("\u0080\u0080\u0080\u0080\u0080\u0080\u0080\u0080\u0080\0")),         // 0 in ten bytes
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ab"),
            OnNext(220, ""),
            OnCompleted<string>(300));
    }

    [Test]
    public void VarintPrefixed_MoreThanTenBytes_IsInvalidData()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("ok") + "\u0080\u0080\u0080\u0080\u0080")),
            OnNext(220, B("\u0080\u0080\u0080\u0080")),
            OnNext(230, B("\u0080")),
            OnNext(240, B("\0")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok"),
            OnError<string>(230, static e => e is InvalidDataException));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 230));
    }

    [Test]
    public void VarintPrefixed_MoreThan64Bits_IsInvalidData()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u0002")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed(int.MaxValue).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, static e => e is InvalidDataException));
    }

    [Test]
    public void VarintPrefixed_LimitBoundaries()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("12345"))),
            OnNext(220, B(Varint(6))),
            OnNext(230, B("123456")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed(5).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "12345"),
            OnError<string>(220, Overrun(7)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 220));
    }

    [Test]
    public void VarintPrefixed_HugeLength_RefusedFromTheVarintAlone()
    {
        // 2^62 announced: refused when the varint is complete, before a byte of the body is kept.
        const ulong Huge = 1UL << 62;
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Varint(Huge)[..4])),
            OnNext(220, B(Varint(Huge)[4..])),
            OnNext(230, B("body")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages, OnError<string>(220, Overrun((long)Huge + 9)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 220));
    }

    [Test]
    public void VarintPrefixed_CompletedInsideVarint_ExpectedIsUnknown()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("a") + "\u0080")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a"),
            OnError<string>(300, Incomplete("\u0080", null)));
    }

    [Test]
    public void VarintPrefixed_CompletedInsideBody_ExpectedIsTheWholeFrame()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u00ac\u0002abc")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages, OnError<string>(300, Incomplete("\u00ac\u0002abc", 302)));
    }

    [Test]
    public void VarintPrefixed_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("a") + "\u0003b")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a"),
            OnError<string>(300, e => e is IncompleteReadException ire && S(ire.Partial) == "\u0003b" && ReferenceEquals(ire.InnerException, ex)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void VarintPrefixed_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(Frame("a"))),
            OnNext(250, B(Frame("b") + "\u0001")),
            OnNext(400, B("c")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.VarintPrefixed().Select(S), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "a"), OnNext(250, "b"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }
}
