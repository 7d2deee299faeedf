using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Text;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>A user's decoder: frames of one length byte followed by that many bytes of Latin-1 text.</summary>
internal sealed class LengthPrefixedStringDecoder : IFrameDecoder<string>
{
    public bool TryDecode(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
    {
        var span = buffer.Span;
        if (span.Length >= 1 && span.Length >= 1 + span[0])
        {
            consumed = 1 + span[0];
            frame = Encoding.Latin1.GetString(span.Slice(1, span[0]));
            return true;
        }

        frame = string.Empty;
        consumed = 0;
        return false;
    }

    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
    {
        if (!buffer.IsEmpty)
        {
            throw new IncompleteReadException(buffer, 1 + buffer.Span[0]);
        }

        frame = string.Empty;
        consumed = 0;
        return false;
    }
}

/// <summary>Marble tests for <see cref="FramingExtensions.Decode"/> with a decoder written here.</summary>
public class DecodeTest : ReactiveTest
{
    private static Func<IFrameDecoder<string>> Factory => static () => new LengthPrefixedStringDecoder();

    [Test]
    public void Decode_ArgumentChecking()
    {
        var source = Observable.Never<ReadOnlyMemory<byte>>();
        Assert.Multiple(() =>
        {
            Assert.That(() => NullSource.Decode(Factory), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => source.Decode<string>(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("decoderFactory"));
            Assert.That(() => source.Decode(Factory), Throws.Nothing);
        });
    }

    [Test]
    public void Decode_Basic()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0003abc")),
            OnNext(220, B("\u0000")),
            OnNext(230, B("\u0002xy\u0001z")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Decode(Factory));

        AssertMessages(res.Messages,
            OnNext(210, "abc"),
            OnNext(220, string.Empty),
            OnNext(230, "xy"),
            OnNext(230, "z"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Decode_SplitAcrossChunks()
    {
        // Header alone, body in pieces, next header glued to the end of a body.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0005")),
            OnNext(220, B("he")),
            OnNext(230, B("l")),
            OnNext(240, B("lo\u0002")),
            OnNext(250, B("o")),
            OnNext(260, B("k")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Decode(Factory));

        AssertMessages(res.Messages,
            OnNext(240, "hello"),
            OnNext(260, "ok"),
            OnCompleted<string>(300));
    }

    [Test]
    public void Decode_CompletedInsideFrame()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0001a\u0004bc")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Decode(Factory));

        AssertMessages(res.Messages,
            OnNext(210, "a"),
            OnError<string>(300, Incomplete("\u0004bc", 5)));
    }

    [Test]
    public void Decode_DecoderThrows_FailsTheStreamAndUnsubscribes()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ok\nbad!\nlater\n")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Decode(static () => new StrictLineDecoder()));

        AssertMessages(res.Messages,
            OnNext(210, "ok"),
            OnError<string>(210, static e => e is InvalidDataException));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 210));
    }

    [Test]
    public void Decode_Error()
    {
        var ex = new IOException("reset");
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0001a")),
            OnError<ReadOnlyMemory<byte>>(300, ex));

        var res = scheduler.Start(() => xs.Decode(Factory));

        AssertMessages(res.Messages, OnNext(210, "a"), OnError<string>(300, ex));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void Decode_Dispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0001a\u0001")),
            OnNext(250, B("b")),
            OnNext(400, B("\u0001c")),
            OnCompleted<ReadOnlyMemory<byte>>(500));

        var res = scheduler.Start(() => xs.Decode(Factory), 100, 200, 370);

        AssertMessages(res.Messages, OnNext(210, "a"), OnNext(250, "b"));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 370));
    }

    [Test]
    public void Decode_OneDecoderPerSubscription()
    {
        // A decoder keeps per-stream state, so two subscriptions must not share one.
        int created = 0;
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("\u0002a")),
            OnNext(230, B("b\u0001c")),
            OnCompleted<ReadOnlyMemory<byte>>(300));
        var decoded = xs.Decode(() =>
        {
            created++;
            return new LengthPrefixedStringDecoder();
        });

        var early = scheduler.CreateObserver<string>();
        var late = scheduler.CreateObserver<string>();
        scheduler.ScheduleAbsolute(200, () => decoded.Subscribe(early));
        scheduler.ScheduleAbsolute(220, () => decoded.Subscribe(late)); // joins in the middle of "\u0002ab"
        scheduler.Start();

        Assert.That(created, Is.EqualTo(2));
        AssertMessages(early.Messages, OnNext(230, "ab"), OnNext(230, "c"), OnCompleted<string>(300));
        // The late subscriber's stream starts at "b\u0001c": 'b' (98) announces a 98-byte frame that never ends.
        AssertMessages(late.Messages, OnError<string>(300, Incomplete("b\u0001c", 99)));
    }

    [Test]
    public void Decode_DecoderThatConsumesNothing_FailsInsteadOfLooping()
    {
        // IFrameDecoder requires consumed >= 1 with a frame. A decoder that breaks that rule would make the operator
        // emit the same frame forever on a thread it does not own; the operator should fail the stream with an
        // InvalidOperationException instead. (The decoder below gives up after 1,000 calls so the test cannot hang.)
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("x")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Decode(static () => new StuckDecoder()));

        Assert.That(res.Messages, Has.Count.LessThanOrEqualTo(2), "the same frame was emitted again and again");
        AssertMessages(res.Messages.Skip(res.Messages.Count - 1).ToList(),
            OnError<int>(210, static e => e is InvalidOperationException));
    }

    [Test]
    public void Decode_AtEndDecoderThatConsumesNothing_FailsInsteadOfLooping()
    {
        // The natural "the rest is the last frame" decoder (frame = buffer, consumed = buffer.Length, true) returns a
        // frame for an empty buffer too, and TryDecodeAtEnd is called "again for as long as it returns true": the
        // operator should refuse a frame that consumed nothing rather than emit empty frames forever.
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("tail")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.Decode(static () => new RestIsLastFrameDecoder()));

        Assert.That(res.Messages, Has.Count.LessThanOrEqualTo(3), "empty last frames were emitted again and again");
        Assert.That(res.Messages[0].Value.Value, Is.EqualTo("tail"));
    }

    /// <summary>Lines without their '\n'; a '!' makes the line invalid.</summary>
    private sealed class StrictLineDecoder : IFrameDecoder<string>
    {
        public bool TryDecode(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
        {
            int end = buffer.Span.IndexOf((byte)'\n');
            if (end < 0)
            {
                frame = string.Empty;
                consumed = 0;
                return false;
            }

            frame = Encoding.Latin1.GetString(buffer.Span[..end]);
            if (frame.Contains('!', StringComparison.Ordinal))
            {
                throw new InvalidDataException($"bad line: {frame}");
            }

            consumed = end + 1;
            return true;
        }

        public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
        {
            frame = string.Empty;
            consumed = 0;
            return buffer.IsEmpty ? false : throw new IncompleteReadException(buffer, null);
        }
    }

    /// <summary>Returns a frame without consuming anything (a broken decoder); stops after 1,000 calls.</summary>
    private sealed class StuckDecoder : IFrameDecoder<int>
    {
        private int _calls;

        public bool TryDecode(ReadOnlyMemory<byte> buffer, out int frame, out int consumed)
        {
            if (++_calls > 1000)
            {
                throw new TimeoutException("the operator kept calling a decoder that consumed nothing");
            }

            frame = _calls;
            consumed = 0;
            return true;
        }

        public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out int frame, out int consumed)
        {
            frame = 0;
            consumed = 0;
            return false;
        }
    }

    /// <summary>No frames until the end; then the rest is the last frame (even when empty). Stops after 1,000 calls.</summary>
    private sealed class RestIsLastFrameDecoder : IFrameDecoder<string>
    {
        private int _calls;

        public bool TryDecode(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
        {
            frame = string.Empty;
            consumed = 0;
            return false;
        }

        public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out string frame, out int consumed)
        {
            if (++_calls > 1000)
            {
                throw new TimeoutException("the operator kept calling TryDecodeAtEnd on a decoder that consumed nothing");
            }

            frame = Encoding.Latin1.GetString(buffer.Span);
            consumed = buffer.Length;
            return true;
        }
    }
}
