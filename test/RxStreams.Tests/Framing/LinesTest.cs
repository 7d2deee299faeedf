using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Marble tests for <see cref="FramingExtensions.Lines"/> (asyncio's <c>readline</c> / <c>async for</c>).</summary>
public class LinesTest : ReactiveTest
{
    [Test]
    public void Lines_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.Lines(), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.Lines(0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
            Assert.That(() => source.Lines(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
            Assert.That(() => source.Lines(1), Throws.Nothing);
        });
    }

    [Test]
    public void Lines_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(150, B("ignored before subscription\n")),
            OnNext(210, B("a\n")),
            OnNext(220, B("bc\n")),
            OnNext(230, B("\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnNext(220, "bc\n"),
            OnNext(230, "\n"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_SplitAcrossChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab")),
            OnNext(220, B("cd")),
            OnNext(230, B("e\nfg")),
            OnNext(240, B("\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(230, "abcde\n"),
            OnNext(240, "fg\n"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_SeveralFramesInOneChunk()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\nbb\n\nccc\nd")),
            OnNext(220, B("\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnNext(210, "bb\n"),
            OnNext(210, "\n"),
            OnNext(210, "ccc\n"),
            OnNext(220, "d\n"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_EmptyChunksAreIgnored()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a")),
            OnNext(220, ReadOnlyMemory<byte>.Empty),
            OnNext(230, B("\n")),
            OnNext(240, ReadOnlyMemory<byte>.Empty),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(230, "a\n"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Lines_CompletedWithPartial()
    {
        // readline returns e.partial at EOF: the unterminated last line.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\nb")),
            OnNext(220, B("c")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnNext(300, "bc"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_CompletedClean_NoEmptyLastLine()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Lines_Empty()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages, OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\nb")),
            OnNext(220, B("\n")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnNext(220, "b\n"),
            OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Lines_ErrorInsideLine_PartialIsNotLost()
    {
        // Contract 10: bytes that arrived before an error are still delivered (Partial). The pull method
        // ReadLineAsync wraps the error as IncompleteReadException(partial, null, error); the operator should agree
        // ("the same bytes give the same frames and the same errors").
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\nbc")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnError<string>(300, e => e is IncompleteReadException { Expected: null } ire && S(ire.Partial) == "bc" && ReferenceEquals(ire.InnerException, ex)));
    }

    [Test]
    public void Lines_LimitBoundaries()
    {
        // asyncio's table with L=5 and '\n': a line of exactly L bytes (without its '\n') is accepted; 5 bytes without a
        // separator keep waiting.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("12345\n")),
            OnNext(220, B("12345")),
            OnNext(230, B("\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines(5).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "12345\n"),
            OnNext(230, "12345\n"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Lines_LimitOverrun_NotFound()
    {
        // 6 bytes, no separator, L=5 -> "not found", consumed=6; the upstream is unsubscribed at once.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ok\n")),
            OnNext(220, B("123")),
            OnNext(230, B("456")),
            OnNext(240, B("\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines(5).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok\n"),
            OnError<string>(230, OverrunNotFound(6)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 230));
    }

    [Test]
    public void Lines_LimitOverrun_Found()
    {
        // "123456\nabc", L=5 -> "found, but chunk is longer than limit", consumed=6.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("123456\nabc")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines(5).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, OverrunFound(6)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 210));
    }

    [Test]
    public void Lines_PartialLastLineOfExactlyLimit_IsEmitted()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("12345")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines(5).Select(S));

        AssertMessages(res.Messages, OnNext(300, "12345"), OnCompleted<string>(300));
    }

    [Test]
    public void Lines_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\n")),
            OnNext(250, B("b\nc")),
            OnNext(400, B("\n")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.Lines().Select(S), 100, 200, 370);

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnNext(250, "b\n"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }

    [Test]
    public void Lines_DisposeFromOnNext_StopsInsideAChunk()
    {
        // Take(2) disposes while the operator is still emitting frames of one chunk.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\nb\nc\nd\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Lines().Select(S).Take(2));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnNext(210, "b\n"),
            OnCompleted<string>(210));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 210));
    }
}
