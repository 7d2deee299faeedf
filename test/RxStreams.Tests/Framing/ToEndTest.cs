using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Marble tests for <see cref="FramingExtensions.ToEnd"/> (asyncio's <c>read()</c>).</summary>
public class ToEndTest : ReactiveTest
{
    [Test]
    public void ToEnd_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.ToEnd(), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.ToEnd(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
            Assert.That(() => source.ToEnd(0), Throws.Nothing);
        });
    }

    [Test]
    public void ToEnd_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab\n")),
            OnNext(220, B("cd")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.ToEnd().Select(S));

        AssertMessages(res.Messages, OnNext(300, "ab\ncd"), OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void ToEnd_SplitAcrossChunks()
    {
        var messages = Enumerable.Range(0, 100)
            .Select(i => OnNext(201 + i, B(i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture))))
            .Append(OnCompleted<ReadOnlyMemory<byte>>(400))
            .ToArray();
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(messages);

        var res = scheduler.Start(() => xs.ToEnd().Select(S));

        var expected = string.Concat(Enumerable.Range(0, 100).Select(i => i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)));
        AssertMessages(res.Messages, OnNext(400, expected), OnCompleted<string>(400));
    }

    [Test]
    public void ToEnd_Empty_EmitsOneEmptyFrame()
    {
        // read(-1) at EOF returns b''.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.ToEnd().Select(S));

        AssertMessages(res.Messages, OnNext(300, string.Empty), OnCompleted<string>(300));
    }

    [Test]
    public void ToEnd_LimitBoundary_Accepted()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab")),
            OnNext(220, B("cd")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.ToEnd(4).Select(S));

        AssertMessages(res.Messages, OnNext(300, "abcd"), OnCompleted<string>(300));
    }

    [Test]
    public void ToEnd_LimitOverrun()
    {
        // One byte past the limit fails at once (Consumed = the limit) and unsubscribes.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abc")),
            OnNext(220, B("de")),
            OnNext(230, B("f")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.ToEnd(4).Select(S));

        AssertMessages(res.Messages, OnError<string>(220, Overrun(4)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 220));
    }

    [Test]
    public void ToEnd_LimitZero_AcceptsOnlyTheEmptyStream()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.ToEnd(0).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, Overrun(0)));
    }

    [Test]
    public void ToEnd_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.ToEnd().Select(S));

        AssertMessages(res.Messages, OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void ToEnd_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab")),
            OnNext(400, B("cd")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.ToEnd().Select(S), 100, 200, 370);

        AssertMessages(res.Messages);
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }
}
