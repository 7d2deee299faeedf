using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Marble tests for <see cref="FramingExtensions.Chunks"/>: full chunks of <c>maxLength</c>, only the last may be short.</summary>
public class ChunksTest : ReactiveTest
{
    [Test]
    public void Chunks_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.Chunks(1), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.Chunks(0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("maxLength"));
            Assert.That(() => source.Chunks(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("maxLength"));
            Assert.That(() => source.Chunks(1), Throws.Nothing);
        });
    }

    [Test]
    public void Chunks_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcd")),
            OnNext(220, B("ef")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Chunks(2).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ab"),
            OnNext(210, "cd"),
            OnNext(220, "ef"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Chunks_SplitAcrossChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a")),
            OnNext(220, B("bc")),
            OnNext(230, B("d")),
            OnNext(240, B("efghi")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Chunks(4).Select(S));

        AssertMessages(res.Messages,
            OnNext(230, "abcd"),
            OnNext(240, "efgh"),
            OnNext(300, "i"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Chunks_SeveralFramesInOneChunk()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdefg")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Chunks(3).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnNext(210, "def"),
            OnNext(300, "g"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Chunks_CompletedWithShortLastChunk()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Chunks(5).Select(S));

        AssertMessages(res.Messages, OnNext(300, "ab"), OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Chunks_CompletedClean_NoEmptyLastChunk()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdef")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Chunks(3).Select(S));

        AssertMessages(res.Messages, OnNext(210, "abc"), OnNext(210, "def"), OnCompleted<string>(300));
    }

    [Test]
    public void Chunks_Empty()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Chunks(3).Select(S));

        AssertMessages(res.Messages, OnCompleted<string>(300));
    }

    [Test]
    public void Chunks_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdef")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Chunks(3).Select(S));

        AssertMessages(res.Messages, OnNext(210, "abc"), OnNext(210, "def"), OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Chunks_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcd")),
            OnNext(250, B("ef")),
            OnNext(400, B("gh")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.Chunks(2).Select(S), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "ab"), OnNext(210, "cd"), OnNext(250, "ef"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }
}
