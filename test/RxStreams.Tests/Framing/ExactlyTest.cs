using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Marble tests for <see cref="FramingExtensions.Exactly"/> (asyncio's <c>readexactly</c>).</summary>
public class ExactlyTest : ReactiveTest
{
    [Test]
    public void Exactly_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.Exactly(1), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.Exactly(0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("length"));
            Assert.That(() => source.Exactly(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("length"));
            Assert.That(() => source.Exactly(1), Throws.Nothing);
        });
    }

    [Test]
    public void Exactly_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abc")),
            OnNext(220, B("def")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnNext(220, "def"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Exactly_SplitAcrossChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a")),
            OnNext(220, B("b")),
            OnNext(230, B("cd")),
            OnNext(240, B("ef")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages,
            OnNext(230, "abc"),
            OnNext(240, "def"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Exactly_SeveralFramesInOneChunk()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdefg")),
            OnNext(220, B("hi")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnNext(210, "def"),
            OnNext(220, "ghi"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Exactly_One()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Exactly(1).Select(S));

        AssertMessages(res.Messages, OnNext(210, "a"), OnNext(210, "b"), OnCompleted<string>(300));
    }

    [Test]
    public void Exactly_FrameLargerThanManyChunks()
    {
        // readexactly ignores the limit: a 50,000-byte frame arrives in 1,000 chunks of 50 bytes.
        var payload = string.Concat(Enumerable.Range(0, 50_000).Select(i => (char)('a' + (i % 26))));
        var messages = Enumerable.Range(0, 1000)
            .Select(i => OnNext(201 + i, B(payload.Substring(i * 50, 50))))
            .Append(OnCompleted<ReadOnlyMemory<byte>>(2000))
            .ToArray();
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(messages);

        var res = scheduler.Start(() => xs.Exactly(50_000).Select(S), 100, 200, 5000);

        AssertMessages(res.Messages, OnNext(1200, payload), OnCompleted<string>(2000));
    }

    [Test]
    public void Exactly_CompletedInsideFrame()
    {
        // readexactly at EOF: IncompleteReadError(partial=whole buffer, expected=n).
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcd")),
            OnNext(220, B("e")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnError<string>(300, Incomplete("de", 3)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Exactly_CompletedClean()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdef")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages, OnNext(210, "abc"), OnNext(210, "def"), OnCompleted<string>(300));
    }

    [Test]
    public void Exactly_Empty()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages, OnCompleted<string>(300));
    }

    [Test]
    public void Exactly_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdef")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages, OnNext(210, "abc"), OnNext(210, "def"), OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Exactly_ErrorInsideFrame_PartialIsNotLost()
    {
        // Contract 10 and ReadExactlyAsync: an error inside a frame is IncompleteReadException(partial, n, error).
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcd")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnError<string>(300, e => e is IncompleteReadException { Expected: 3 } ire && S(ire.Partial) == "d" && ReferenceEquals(ire.InnerException, ex)));
    }

    [Test]
    public void Exactly_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcd")),
            OnNext(250, B("ef")),
            OnNext(400, B("ghi")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.Exactly(3).Select(S), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "abc"), OnNext(250, "def"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }
}
