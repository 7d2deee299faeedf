using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Internal;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>Marble tests for <see cref="FramingExtensions.DecodeText"/>, <see cref="FramingExtensions.EncodeText"/> and <see cref="FramingExtensions.LinesText"/>.</summary>
public class TextTest : ReactiveTest
{
    /// <summary>One-, two-, three- and four-byte UTF-8 characters (the last is a surrogate pair in UTF-16).</summary>
    private const string Mixed = "a\u00e9\u20ac\U0001F600z";

    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Test]
    public void DecodeText_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.DecodeText(Encoding.UTF8), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.DecodeText(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("encoding"));
            Assert.That(() => source.DecodeText(Encoding.UTF8), Throws.Nothing);
        });
    }

    [Test]
    public void DecodeText_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, Utf8("hello ")),
            OnNext(220, Utf8("w\u00f6rld")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.DecodeText(Encoding.UTF8));

        AssertMessages(res.Messages,
            OnNext(210, "hello "),
            OnNext(220, "w\u00f6rld"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void DecodeText_CharacterSplitAcrossChunks()
    {
        // The euro sign E2 82 AC in three chunks: nothing is emitted until it is complete, and no U+FFFD appears.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\u00e2")),
            OnNext(220, B("\u0082")),
            OnNext(230, B("\u00acb")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.DecodeText(Encoding.UTF8));

        AssertMessages(res.Messages,
            OnNext(210, "a"),
            OnNext(230, "\u20acb"),
            OnCompleted<string>(300));
    }

    [Test]
    public void DecodeText_Utf8_EverySplitPosition()
    {
        // Every way to cut the bytes into three chunks, and one byte at a time: the text is always the same.
        var bytes = Encoding.UTF8.GetBytes(Mixed + Mixed);
        int n = bytes.Length;
        var failures = new List<string>();
        for (int a = 0; a <= n; a++)
        {
            for (int b = a; b <= n; b++)
            {
                var text = Decode(Encoding.UTF8, bytes.AsMemory(0, a), bytes.AsMemory(a, b - a), bytes.AsMemory(b));
                if (text != Mixed + Mixed)
                {
                    failures.Add($"cuts {a},{b}: {text}");
                }
            }
        }

        Assert.That(failures, Is.Empty);
        Assert.That(Decode(Encoding.UTF8, [.. bytes.Select(static x => (ReadOnlyMemory<byte>)new[] { x })]), Is.EqualTo(Mixed + Mixed));
    }

    [TestCase("utf-16")]
    [TestCase("utf-16BE")]
    [TestCase("utf-32")]
    public void DecodeText_OtherEncodings_EverySplitPosition(string name)
    {
        var encoding = Encoding.GetEncoding(name);
        var bytes = encoding.GetBytes(Mixed);
        for (int a = 0; a <= bytes.Length; a++)
        {
            Assert.That(Decode(encoding, bytes.AsMemory(0, a), bytes.AsMemory(a)), Is.EqualTo(Mixed), $"cut at {a}");
        }
    }

    [Test]
    public void DecodeText_InvalidBytes_FollowTheFallback()
    {
        // Encoding.UTF8 replaces: a stray continuation byte and an unfinished character at the end each become U+FFFD.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\u0080b")),
            OnNext(220, B("c\u00e2\u0082")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.DecodeText(Encoding.UTF8));

        AssertMessages(res.Messages,
            OnNext(210, "a\ufffdb"),
            OnNext(220, "c"),
            OnNext(300, "\ufffd"),
            OnCompleted<string>(300));
    }

    [Test]
    public void DecodeText_ThrowingFallback_FailsTheStream()
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ok")),
            OnNext(220, B("a\u00ff")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.DecodeText(strict));

        AssertMessages(res.Messages,
            OnNext(210, "ok"),
            OnError<string>(220, static e => e is DecoderFallbackException));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 220));
    }

    [Test]
    public void DecodeText_ThrowingFallback_UnfinishedCharacterAtEnd()
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var outcome = RunText(s => s.DecodeText(strict), [B("ok\u00e2\u0082")]);
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Frames, Is.EqualTo(new[] { "ok" }));
            Assert.That(outcome.Error, Is.InstanceOf<DecoderFallbackException>());
        });
    }

    [Test]
    public void DecodeText_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a\u00e2")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.DecodeText(Encoding.UTF8));

        AssertMessages(res.Messages, OnNext(210, "a"), OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void DecodeText_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("a")),
            OnNext(250, B("b")),
            OnNext(400, B("c")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.DecodeText(Encoding.UTF8), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "a"), OnNext(250, "b"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }

    [Test]
    public void DecodeText_OneDecoderPerSubscription()
    {
        var subject = new Subject<ReadOnlyMemory<byte>>();
        var decoded = subject.DecodeText(Encoding.UTF8);
        var first = new List<string>();
        var second = new List<string>();
        using var s1 = decoded.Subscribe(first.Add);
        subject.OnNext(B("\u00e2\u0082"));
        using var s2 = decoded.Subscribe(second.Add);
        subject.OnNext(B("\u00ac"));
        subject.OnCompleted();

        Assert.That(first, Is.EqualTo(new[] { "\u20ac" }));
        Assert.That(second, Is.EqualTo(new[] { "\ufffd" }), "the second subscription saw a lone continuation byte");
    }

    [Test]
    public void DecodeText_LargeChunk()
    {
        string text = string.Concat(Enumerable.Repeat(Mixed, 5000));
        Assert.That(Decode(Encoding.UTF8, Encoding.UTF8.GetBytes(text)), Is.EqualTo(text));
    }

    [Test]
    public void EncodeText_ArgumentChecking()
    {
        var source = Observable.Never<string>();
        Assert.Multiple(() =>
        {
            Assert.That(() => ((IObservable<string>)null!).EncodeText(Encoding.UTF8), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.EncodeText(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("encoding"));
            Assert.That(() => source.EncodeText(Encoding.UTF8), Throws.Nothing);
        });
    }

    [Test]
    public void EncodeText_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, "a\u00e9"),
            OnNext(220, string.Empty),
            OnNext(230, "\u20ac"),
            OnCompleted<string>(300));

        var res = scheduler.Start(() => xs.EncodeText(Encoding.UTF8).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "a\u00c3\u00a9"),
            OnNext(230, "\u00e2\u0082\u00ac"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void EncodeText_SurrogatePairSplitAcrossStrings()
    {
        // U+1F600 is D83D DE00 in UTF-16: split over two strings it still encodes as F0 9F 98 80.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, "x\ud83d"),
            OnNext(220, "\ude00y"),
            OnCompleted<string>(300));

        var res = scheduler.Start(() => xs.EncodeText(Encoding.UTF8).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "x"),
            OnNext(220, "\u00f0\u009f\u0098\u0080y"),
            OnCompleted<string>(300));
    }

    [Test]
    public void EncodeText_LoneSurrogateAtEnd_FollowsTheFallback()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, "x\ud83d"),
            OnCompleted<string>(300));

        var res = scheduler.Start(() => xs.EncodeText(Encoding.UTF8).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "x"),
            OnNext(300, "\u00ef\u00bf\u00bd"),
            OnCompleted<string>(300));
    }

    [Test]
    public void EncodeText_ThrowingFallback_FailsTheStream()
    {
        var ascii = Encoding.GetEncoding("us-ascii", EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, "ok"),
            OnNext(220, "\u20ac"),
            OnCompleted<string>(300));

        var res = scheduler.Start(() => xs.EncodeText(ascii).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ok"),
            OnError<string>(220, static e => e is EncoderFallbackException));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 220));
    }

    [Test]
    public void EncodeText_Error()
    {
        var ex = new InvalidOperationException("boom");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(210, "a"), OnError<string>(300, ex));

        var res = scheduler.Start(() => xs.EncodeText(Encoding.UTF8).Select(S));

        AssertMessages(res.Messages, OnNext(210, "a"), OnError<string>(300, ex));
    }

    [Test]
    public void EncodeText_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(210, "a"), OnNext(400, "b"), OnCompleted<string>(500));

        var res = scheduler.Start(() => xs.EncodeText(Encoding.UTF8).Select(S), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "a"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }

    [Test]
    public void EncodeText_ThenDecodeText_RoundTrips()
    {
        string[] pieces = ["a", "\u00e9\ud83d", "\ude00", "", "\u20ac z"];
        var text = string.Concat(pieces.ToObservable().EncodeText(Encoding.UTF8).DecodeText(Encoding.UTF8).ToEnumerable());
        Assert.Multiple(() =>
        {
            Assert.That(text, Is.EqualTo(string.Concat(pieces)));
            Assert.That(Observable.Never<string>().EncodeText(Encoding.UTF8), Is.InstanceOf<IOwnedMemorySource>().With.Property(nameof(IOwnedMemorySource.EmitsOwnedMemory)).True);
        });
    }

    [Test]
    public void LinesText_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.LinesText(), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.LinesText(Encoding.Unicode), Throws.ArgumentException.With.Property("ParamName").EqualTo("encoding"));
            Assert.That(() => source.LinesText(Encoding.UTF32), Throws.ArgumentException.With.Property("ParamName").EqualTo("encoding"));
            Assert.That(() => source.LinesText(limit: 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
            Assert.That(() => source.LinesText(), Throws.Nothing);
            Assert.That(() => source.LinesText(Encoding.Latin1), Throws.Nothing);
            Assert.That(() => source.LinesText(Encoding.ASCII), Throws.Nothing);
        });
    }

    [Test]
    public void LinesText_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, Utf8("one\r\ntw")),
            OnNext(220, Utf8("o\n\n\u20ac")[..^1]),
            OnNext(230, Utf8("\u20ac\nlast\r")[2..]),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.LinesText());

        AssertMessages(res.Messages,
            OnNext(210, "one"),
            OnNext(220, "two"),
            OnNext(220, ""),
            OnNext(230, "\u20ac"),
            OnNext(300, "last"),
            OnCompleted<string>(300));
    }

    [Test]
    public void LinesText_OtherEncodingAndLimit()
    {
        var latin1 = Run(s => s.LinesText(Encoding.Latin1), [B("caf\u00e9\n")]);
        var skipped = Run(s => s.LinesText(limit: 3, overflow: OverflowPolicy.Skip), [Utf8("ab\n\u20ac\u20ac\nc\n")]);
        var failed = Run(s => s.LinesText(limit: 3), [Utf8("ab\n\u20ac\u20ac\nc\n")]);
        Assert.Multiple(() =>
        {
            Assert.That(latin1.Frames, Is.EqualTo(new[] { "caf\u00e9" }));
            Assert.That(skipped.Shape, Is.EqualTo("[\"ab\", \"c\"] completed"), "the limit counts bytes: two euro signs are 6");
            Assert.That(failed.Error, Is.InstanceOf<LimitOverrunException>());
        });
    }

    private static string Decode(Encoding encoding, params ReadOnlyMemory<byte>[] chunks)
    {
        var outcome = RunText(s => s.DecodeText(encoding), chunks);
        Assert.That(outcome.Completed, Is.True, outcome.Error?.ToString());
        return string.Concat(outcome.Frames);
    }

    private static Outcome RunText(Func<IObservable<ReadOnlyMemory<byte>>, IObservable<string>> op, IEnumerable<ReadOnlyMemory<byte>> chunks) => Run(op, chunks);
}
