using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Marble tests for both <c>Until</c> overloads (asyncio's <c>readuntil</c>, with one separator or, as in Python 3.13,
/// several).
/// </summary>
public class UntilTest : ReactiveTest
{
    private static readonly ReadOnlyMemory<byte>[] CrLfOrLf = [B("\r\n"), B("\n")];

    [Test]
    public void Until_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.Until(B(";")), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.Until(ReadOnlyMemory<byte>.Empty), Throws.ArgumentException);
            Assert.That(() => source.Until(B(";"), 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
            Assert.That(() => source.Until(B(";"), -1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));

            Assert.That(() => NullSource.Until(CrLfOrLf), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.Until((IEnumerable<ReadOnlyMemory<byte>>)null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("separators"));
            Assert.That(() => source.Until(Array.Empty<ReadOnlyMemory<byte>>()), Throws.ArgumentException.With.Property("ParamName").EqualTo("separators"));
            Assert.That(() => source.Until([B("\n"), ReadOnlyMemory<byte>.Empty]), Throws.ArgumentException.With.Property("ParamName").EqualTo("separators"));
            Assert.That(() => source.Until(CrLfOrLf, 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));

            Assert.That(() => source.Until(B(";"), 1), Throws.Nothing);
            Assert.That(() => source.Until(CrLfOrLf, 1), Throws.Nothing);
        });
    }

    [Test]
    public void Until_EmptySeparator_ParamNameIsSeparator()
    {
        // The single-separator overload's parameter is called "separator"; the ArgumentException should name it.
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.That(() => source.Until(ReadOnlyMemory<byte>.Empty), Throws.ArgumentException.With.Property("ParamName").EqualTo("separator"));
    }

    [Test]
    public void Until_SeparatorIsCopiedAtTheCall()
    {
        var separator = new byte[] { (byte)';' };
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a;b,")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() =>
        {
            var framed = xs.Until(separator).Select(S);
            separator[0] = (byte)','; // the caller reuses its array
            return framed;
        });

        AssertMessages(res.Messages,
            OnNext(210, "a;"),
            OnError<string>(300, Incomplete("b,", null)));
    }

    [Test]
    public void Until_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("GET /\r\n")),
            OnNext(220, B("Host: x\r\n")),
            OnNext(230, B("\r\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("\r\n")).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "GET /\r\n"),
            OnNext(220, "Host: x\r\n"),
            OnNext(230, "\r\n"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Until_SplitAcrossChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab")),
            OnNext(220, B("c")),
            OnNext(230, B("d;e")),
            OnNext(240, B("f;")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B(";")).Select(S));

        AssertMessages(res.Messages,
            OnNext(230, "abcd;"),
            OnNext(240, "ef;"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Until_MultiByteSeparatorSplitAcrossThreeChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abS")),
            OnNext(220, B("E")),
            OnNext(230, B("Pxy")),
            OnNext(240, B("SESEP")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("SEP")).Select(S));

        AssertMessages(res.Messages,
            OnNext(230, "abSEP"),
            OnNext(240, "xySESEP"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Until_SeveralFramesInOneChunk()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a||bb||||c|")),
            OnNext(220, B("|")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("||")).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a||"),
            OnNext(210, "bb||"),
            OnNext(210, "||"),
            OnNext(220, "c||"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Until_CompletedInsideFrame()
    {
        // readuntil at EOF: IncompleteReadError(partial=whole buffer, expected=None).
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a;b")),
            OnNext(220, B("c\r")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B(";")).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a;"),
            OnError<string>(300, Incomplete("bc\r", null)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Until_CompletedInsideSeparator()
    {
        // "abcd\r" alone with "\r\n" waits; at EOF it is an incomplete frame.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcd\r")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("\r\n"), 4).Select(S));

        AssertMessages(res.Messages, OnError<string>(300, Incomplete("abcd\r", null)));
    }

    [Test]
    public void Until_CompletedClean()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a;")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B(";")).Select(S));

        AssertMessages(res.Messages, OnNext(210, "a;"), OnCompleted<string>(300));
    }

    [Test]
    public void Until_Empty()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B(";")).Select(S));

        AssertMessages(res.Messages, OnCompleted<string>(300));
    }

    [Test]
    public void Until_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a;b")),
            OnNext(220, B(";")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Until(B(";")).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a;"),
            OnNext(220, "b;"),
            OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Until_ErrorInsideFrame_PartialIsNotLost()
    {
        // Contract 10 and ReadUntilAsync: an error inside a frame is IncompleteReadException(partial, null, error).
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a;bc")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Until(B(";")).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a;"),
            OnError<string>(300, e => e is IncompleteReadException { Expected: null } ire && S(ire.Partial) == "bc" && ReferenceEquals(ire.InnerException, ex)));
    }

    [Test]
    public void Until_LimitBoundaries()
    {
        // asyncio, L=5 and '\n': 5 bytes without separator keep waiting; "12345\n" is returned.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("12345")),
            OnNext(220, B("\n12345\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("\n"), 5).Select(S));

        AssertMessages(res.Messages,
            OnNext(220, "12345\n"),
            OnNext(220, "12345\n"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Until_LimitOverrun_NotFound()
    {
        // 6 bytes, no separator, L=5 -> "not found", consumed=6.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("123456")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("\n"), 5).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, OverrunNotFound(6)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 210));
    }

    [Test]
    public void Until_LimitOverrun_Found()
    {
        // "123456\nabc", L=5 -> "found, but chunk is longer than limit", consumed=6.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ok\n")),
            OnNext(220, B("123456\nabc")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("\n"), 5).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok\n"),
            OnError<string>(220, OverrunFound(6)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 220));
    }

    [Test]
    public void Until_LimitOverrun_MultiByteSeparator()
    {
        // L=4, "abcdefgSE" with "SEP" -> "not found", consumed = 9 + 1 - 3 = 7.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdefgSE")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("SEP"), 4).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, OverrunNotFound(7)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 210));
    }

    [Test]
    public void Until_LimitWithMultiByteSeparatorSplit_Accepted()
    {
        // "abcd\r" + "\n" with "\r\n" and L=4 -> "abcd\r\n".
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcd\r")),
            OnNext(220, B("\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(B("\r\n"), 4).Select(S));

        AssertMessages(res.Messages, OnNext(220, "abcd\r\n"), OnCompleted<string>(300));
    }

    [Test]
    public void Until_LimitOverrun_ConsumedDescribesTheBufferWhenDetected()
    {
        // Decided (FramingExtensions remarks): the error type is chunk-invariant; Consumed and the message follow
        // asyncio, whose values describe the buffer when the overrun is found. "1234567\n" at once: found at 7.
        // "123456" first: the overrun is already proven at 6 bytes ("not found", 6), before the rest arrives.
        var scheduler = new TestScheduler();
        var one = scheduler.CreateHotObservable(
            OnNext(210, B("1234567\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));
        var resOne = scheduler.Start(() => one.Until(B("\n"), 5).Select(S));

        scheduler = new TestScheduler();
        var two = scheduler.CreateHotObservable(
            OnNext(210, B("123456")),
            OnNext(220, B("7\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));
        var resTwo = scheduler.Start(() => two.Until(B("\n"), 5).Select(S));

        var errorOne = resOne.Messages.Single().Value.Exception as LimitOverrunException;
        var errorTwo = resTwo.Messages.Single().Value.Exception as LimitOverrunException;
        Assert.Multiple(() =>
        {
            Assert.That(errorOne?.Consumed, Is.EqualTo(7), "one chunk: separator found at 7");
            Assert.That(errorOne?.Message, Does.Contain("is found"));
            Assert.That(resTwo.Messages.Single().Time, Is.EqualTo(210), "the split input fails as soon as 6 bytes prove it too long");
            Assert.That(errorTwo?.Consumed, Is.EqualTo(6), "split: not found, consumed 6");
            Assert.That(errorTwo?.Message, Does.Contain("not found"));
        });
    }

    [Test]
    public void Until_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a;b")),
            OnNext(250, B(";c")),
            OnNext(400, B(";")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.Until(B(";")).Select(S), 100, 200, 370);

        AssertMessages(res.Messages,
            OnNext(210, "a;"),
            OnNext(250, "b;"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }

    // ---- several separators (Python 3.13 tuple) ----

    [Test]
    public void UntilAny_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\r\nb\nc\r\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(CrLfOrLf).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\r\n"),
            OnNext(210, "b\n"),
            OnNext(210, "c\r\n"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void UntilAny_SplitAcrossChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\r")),
            OnNext(220, B("\nb")),
            OnNext(230, B("\r")),
            OnNext(240, B("x\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(CrLfOrLf).Select(S));

        AssertMessages(res.Messages,
            OnNext(220, "a\r\n"),
            OnNext(240, "b\rx\n"),
            OnCompleted<string>(300));
    }

    [Test]
    public void UntilAny_MultiByteSeparatorSplitAcrossThreeChunks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abS")),
            OnNext(220, B("E")),
            OnNext(230, B("Pcd;")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until([B(";"), B("SEP")]).Select(S));

        AssertMessages(res.Messages,
            OnNext(230, "abSEP"),
            OnNext(230, "cd;"),
            OnCompleted<string>(300));
    }

    [Test]
    public void UntilAny_EarliestEndWins()
    {
        // "ABCD": "BC" ends at 3, "ABCD" (which starts earlier) ends at 4 -> the frame is "ABC".
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ABCD")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until([B("ABCD"), B("BC")]).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ABC"),
            OnError<string>(300, Incomplete("D", null)));
    }

    [Test]
    public void UntilAny_TieGoesToShortest()
    {
        // "a\r\n": "\r\n" and "\n" both end at 3; the shortest wins, so the match starts at 2, which is beyond L=1
        // (asyncio: "found", consumed=2). With "\r\n" alone the match starts at 1 and the frame is accepted.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\r\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var tie = scheduler.Start(() => xs.Until(CrLfOrLf, 1).Select(S));
        AssertMessages(tie.Messages, OnError<string>(210, OverrunFound(2)));

        scheduler = new TestScheduler();
        xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\r\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));
        var reversed = scheduler.Start(() => xs.Until([B("\n"), B("\r\n")], 1).Select(S));
        AssertMessages(reversed.Messages, OnError<string>(210, OverrunFound(2)));

        scheduler = new TestScheduler();
        xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\r\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));
        var crlfOnly = scheduler.Start(() => xs.Until([B("\r\n")], 1).Select(S));
        AssertMessages(crlfOnly.Messages, OnNext(210, "a\r\n"), OnCompleted<string>(300));
    }

    [Test]
    public void UntilAny_LimitOverrun_NotFoundUsesLongestSeparator()
    {
        // asyncio: offset = buflen + 1 - max_seplen. L=4, separators ";" and "SEP", 9 bytes -> consumed 7.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("abcdefgSE")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until([B(";"), B("SEP")], 4).Select(S));

        AssertMessages(res.Messages, OnError<string>(210, OverrunNotFound(7)));
    }

    [Test]
    public void UntilAny_CompletedInsideFrame()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\nb\r")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Until(CrLfOrLf).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\n"),
            OnError<string>(300, Incomplete("b\r", null)));
    }

    [Test]
    public void UntilAny_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\n")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Until(CrLfOrLf).Select(S));

        AssertMessages(res.Messages, OnNext(210, "a\n"), OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void UntilAny_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\r\n")),
            OnNext(400, B("b\n")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.Until(CrLfOrLf).Select(S), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "a\r\n"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }
}
