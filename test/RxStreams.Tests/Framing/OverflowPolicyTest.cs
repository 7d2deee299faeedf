using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Decoders;
using RxStreams.Framing;
using RxStreams.Internal;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Marble tests for <see cref="OverflowPolicy.Skip"/> on every framer with a limit: the over-long frame is dropped
/// through its end, without being buffered, and the next frame follows.
/// </summary>
public class OverflowPolicyTest : ReactiveTest
{
    [Test]
    public void OverflowPolicy_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        var bad = (OverflowPolicy)2;
        Assert.Multiple(() =>
        {
            Assert.That(() => source.Lines(overflow: bad), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.Until(B(";"), overflow: bad), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.Until([B(";")], overflow: bad), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.LengthPrefixed(overflow: bad), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.VarintPrefixed(overflow: bad), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.LinesText(overflow: bad), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("overflow"));
            Assert.That(() => source.Lines(5, OverflowPolicy.Skip), Throws.Nothing);
        });
    }

    [Test]
    public void OverflowPolicy_DefaultIsFail()
    {
        var outcome = Run(s => s.Lines(3).Select(S), [B("ok\n123456\nnext\n")]);
        Assert.That(outcome.Error, Is.InstanceOf<LimitOverrunException>());
    }

    [Test]
    public void Lines_Skip_FoundInOneChunk()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ok\n123456\nnext\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines(5, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok\n"),
            OnNext(210, "next\n"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_Skip_ContinuesAfterAnOverLongLineAcrossChunks()
    {
        // tokio's LinesCodec discard mode: the line is dropped as it arrives, through its '\n'.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ok\n1234")),
            OnNext(220, B("5678")),
            OnNext(230, B("90")),
            OnNext(240, B("\nne")),
            OnNext(250, B("xt\n12345\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines(5, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok\n"),
            OnNext(250, "next\n"),
            OnNext(250, "12345\n"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_Skip_OverLongLastLine_CompletesNormally()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ok\n1234")),
            OnNext(220, B("56789")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines(5, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages, OnNext(210, "ok\n"), OnCompleted<string>(300));
    }

    [Test]
    public void Lines_Skip_LineOfExactlyTheLimit_IsKept()
    {
        var outcome = Run(s => s.Lines(5, OverflowPolicy.Skip).Select(S), [B("12345\n123456\nab")]);
        Assert.That(outcome.Shape, Is.EqualTo("[\"12345\\n\", \"ab\"] completed"));
    }

    [Test]
    public void Until_Skip_MultiByteSeparatorSplitWhileDiscarding()
    {
        // The "\r\n" of the over-long frame is split over two chunks while the frame is being discarded.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab\r\nlong")),
            OnNext(220, B("er\r")),
            OnNext(230, B("\nxy\r\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("\r\n"), 3, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ab\r\n"),
            OnNext(230, "xy\r\n"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Until_Skip_SeveralSeparators()
    {
        var outcome = Run(s => s.Until([B("\r\n"), B(";")], 2, OverflowPolicy.Skip).Select(S), [B("a;toolong;b\r\nccc\r\nd;")]);
        Assert.That(outcome.Shape, Is.EqualTo("[\"a;\", \"b\\r\\n\", \"d;\"] completed"));
    }

    [Test]
    public void Until_Skip_ShortUnterminatedTail_IsStillIncomplete()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("toolong;x")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B(";"), 3, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages, OnError<string>(300, Incomplete("x", null)));
    }

    [Test]
    public void Until_Skip_EndInsideSkippedFrame_CompletesNormally()
    {
        var outcome = Run(s => s.Until(B("\r\n"), 3, OverflowPolicy.Skip).Select(S), [B("ok\r\nabcdef\r")]);
        Assert.That(outcome.Shape, Is.EqualTo("[\"ok\\r\\n\"] completed"));
    }

    [Test]
    public void LengthPrefixed_Skip_SkipsExactlyTheAnnouncedLength()
    {
        // MaxFrameLength 8; a frame of 4 + 20 bytes is dropped as it arrives; the next frame starts in the same chunk as
        // the end of the dropped one.
        var options = new LengthFieldOptions { MaxFrameLength = 8 };
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(LengthPrefixedTest.Frame("ok") + "\0\0")),
            OnNext(220, B("\0\u0014" + "0123456789")),
            OnNext(230, B("abcdefghij" + LengthPrefixedTest.Frame("next"))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(options, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok"),
            OnNext(230, "next"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void LengthPrefixed_Skip_HugeAnnouncement_EndsCleanly()
    {
        var options = new LengthFieldOptions { LengthFieldSize = 8 };
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(LengthPrefixedTest.Field(10_000_000_000, 8))),
            OnNext(220, B(new string('x', 5000))),
            OnNext(230, B(new string('y', 5000))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LengthPrefixed(options, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages, OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void LengthPrefixed_Skip_InvalidDataStillFails()
    {
        var options = new LengthFieldOptions { LengthFieldSize = 1, LengthAdjustment = -2 };
        var outcome = Run(s => s.LengthPrefixed(options, OverflowPolicy.Skip).Select(S), [B("\u0001")]);
        Assert.That(outcome.Error, Is.InstanceOf<InvalidDataException>());
    }

    [Test]
    public void LengthFieldDecoder_Skip_NeverKeepsBytesOfTheSkippedFrame()
    {
        // Decoder level: while skipping, every call consumes everything it is given, so the operator's buffer never
        // grows (contract 6), and the skip ends exactly at the announced length.
        var decoder = new LengthFieldDecoder(new LengthFieldOptions { LengthFieldSize = 4, MaxFrameLength = 16 }, OverflowPolicy.Skip);
        Assert.That((decoder.Decode(B("\0\u0001\0\0" + "ab"), out var frame, out int consumed), consumed), Is.EqualTo((DecodeStatus.Overrun, 6)));

        long remaining = 65536 + 4 - 6;
        var chunk = new byte[1000];
        while (remaining > chunk.Length)
        {
            Assert.That((decoder.Decode(chunk, out frame, out consumed), consumed), Is.EqualTo((DecodeStatus.Skipped, chunk.Length)));
            remaining -= consumed;
        }

        var last = B(new string('z', (int)remaining) + "\0\0\0\u0001!");
        Assert.That((decoder.Decode(last, out frame, out consumed), consumed), Is.EqualTo((DecodeStatus.Skipped, (int)remaining)));
        Assert.That(decoder.Decode(last[(int)remaining..], out frame, out consumed), Is.EqualTo(DecodeStatus.Frame));
        Assert.That((S(frame), consumed), Is.EqualTo(("!", 5)));
    }

    [Test]
    public void VarintPrefixed_Skip_ContinuesAfterAnOverLongFrame()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B(VarintTest.Frame("ok") + "\u00ac")),
            OnNext(220, B("\u0002" + new string('x', 150))),
            OnNext(230, B(new string('x', 150) + VarintTest.Frame("next"))),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.VarintPrefixed(100, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok"),
            OnNext(230, "next"),
            OnCompleted<string>(300));
    }

    [Test]
    public void VarintPrefixed_Skip_MalformedVarintStillFails()
    {
        var outcome = Run(s => s.VarintPrefixed(100, OverflowPolicy.Skip).Select(S), [B(new string('\u00ff', 11))]);
        Assert.That(outcome.Error, Is.InstanceOf<InvalidDataException>());
    }

    [Test]
    public void Skip_FramesStayOwnedMemory()
    {
        // The filter that removes skipped frames keeps the operator's promise, so a framer chained after it adopts the
        // frames instead of copying them.
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(source.Lines(overflow: OverflowPolicy.Skip), Is.InstanceOf<IOwnedMemorySource>().With.Property(nameof(IOwnedMemorySource.EmitsOwnedMemory)).True);
            Assert.That(source.LengthPrefixed(overflow: OverflowPolicy.Skip), Is.InstanceOf<IOwnedMemorySource>().With.Property(nameof(IOwnedMemorySource.EmitsOwnedMemory)).True);
        });
    }

    [Test]
    public void Skip_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\ntoolong")),
            OnNext(250, B("\nb\n")),
            OnNext(400, B("c\n")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.Lines(3, OverflowPolicy.Skip).Select(S), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "a\n"), OnNext(250, "b\n"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }

    [Test]
    public void Skip_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\ntoolong")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Lines(3, OverflowPolicy.Skip).Select(S));

        AssertMessages(res.Messages, OnNext(210, "a\n"), OnError<string>(300, ex));
    }
}
