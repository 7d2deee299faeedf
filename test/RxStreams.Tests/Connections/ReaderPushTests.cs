using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Connections;

/// <summary>The reader as an <see cref="IObservable{T}"/> of chunks on every transport (<see cref="TransportKind"/>; contract guarantee 3).</summary>
[TestFixture(TransportKind.Tcp)]
[TestFixture(TransportKind.Unix)]
[TestFixture(TransportKind.InMemory)]
[TestFixture(TransportKind.Tls)]
[CancelAfter(30_000)]
public class ReaderPushTests(TransportKind transport)
{
    [Test]
    public async Task Subscribe_GetsChunksThenOnCompletedAtPeerEof()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var observer = new RecordingObserver();
        using var subscription = pair.Reader.Subscribe(observer);

        await pair.Peer.SendAllAsync("first;");
        await observer.FirstChunk.Within();
        await pair.Peer.SendAllAsync("second;");
        await pair.Peer.SendAllAsync("third");
        await pair.Peer.ShutdownSendAsync();

        var end = await observer.Done.Within();

        Assert.Multiple(() =>
        {
            Assert.That(end, Is.Null, "peer EOF is OnCompleted");
            Assert.That(Loopback.Text(observer.Data), Is.EqualTo("first;second;third"));
            Assert.That(observer.ChunkCount, Is.InRange(2, 3));
            Assert.That(observer.Overlapped, Is.False);
            Assert.That(observer.NotifiedAfterEnd, Is.False);
            Assert.That(pair.Reader.AtEof, Is.True);
        });
    }

    [Test]
    public async Task Subscribe_LargePayload_ArrivesIntactAndInOrder()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var payload = Loopback.Pattern(2 * 1024 * 1024 + 3, seed: 7);
        var observer = new RecordingObserver();
        using var subscription = pair.Reader.Subscribe(observer);

        await pair.Peer.SendAllAsync(payload);
        await pair.Peer.ShutdownSendAsync();

        Assert.That(await observer.Done.Within(), Is.Null);
        Assert.That(observer.Data.AsSpan().SequenceEqual(payload), Is.True);
        Assert.That(observer.Overlapped, Is.False, "never two OnNext at once");
    }

    [Test]
    public async Task PeerReset_OnErrorAfterTheBytesBeforeIt()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        // The bytes and the RST are both in flight before anyone reads.
        await pair.Peer.SendAllAsync("bytes before the reset");
        await pair.ResetPeerAsync();

        var observer = new RecordingObserver();
        using var subscription = pair.Reader.Subscribe(observer);
        var end = await observer.Done.Within();

        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(observer.Data), Is.EqualTo("bytes before the reset"), "OnNext x n, then OnError");
            Assert.That(end, Is.InstanceOf<IOException>(), "a reset is OnError, not OnCompleted");
            Assert.That(observer.NotifiedAfterEnd, Is.False);
        });

        // The error stays: a later consumer sees it too.
        Assert.That(pair.Reader.Exception, Is.InstanceOf<IOException>());
        Assert.ThrowsAsync(Is.InstanceOf<IOException>(), async () => await pair.Reader.ReadAsync(1).Within());
        await pair.Connection.Closed.Within();
        Assert.That(pair.Connection.Error, Is.InstanceOf<IOException>());
    }

    [Test]
    public async Task PeerResetWhileSubscribed_OnErrorAfterDeliveredBytes()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var observer = new RecordingObserver();
        using var subscription = pair.Reader.Subscribe(observer);

        await pair.Peer.SendAllAsync("hello");
        await observer.FirstChunk.Within();
        await pair.ResetPeerAsync();

        Assert.That(await observer.Done.Within(), Is.InstanceOf<IOException>());
        Assert.That(Loopback.Text(observer.Data), Is.EqualTo("hello"));
    }

    [Test]
    public async Task Dispose_WhileInsideOnNext_StopsReading_LaterPullReadGetsTheRest()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        using var release = new ManualResetEventSlim();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var observer = new RecordingObserver
        {
            OnEachChunk = _ =>
            {
                entered.TrySetResult();
                release.Wait(Loopback.Timeout); // hold the reader's loop inside OnNext (bounded)
            },
        };

        var subscription = pair.Reader.Subscribe(observer);
        await pair.Peer.SendAllAsync("first|");
        await entered.Task.Within();

        // While the reader's loop is held in OnNext, more bytes arrive; then the subscription is disposed.
        await pair.Peer.SendAllAsync("second|third");
        await pair.Peer.ShutdownSendAsync();
        subscription.Dispose();
        release.Set();

        // The next consumer waits for the disposed subscription to wind down, then gets everything it did not deliver.
        var rest = await pair.Reader.ReadAsync().Within();

        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(observer.Data), Is.EqualTo("first|"), "nothing is delivered after Dispose");
            Assert.That(Loopback.Text(rest), Is.EqualTo("second|third"), "no byte is lost between consumers");
            Assert.That(observer.Done.IsCompleted, Is.False, "a disposed subscription gets no terminal notification");
        });
    }

    [Test]
    public async Task Dispose_WhileWaitingForData_ThenPullReadsSubsequentBytes()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var observer = new RecordingObserver();
        var subscription = pair.Reader.Subscribe(observer);
        await pair.Peer.SendAllAsync("pushed\n");
        await observer.FirstChunk.Within();

        subscription.Dispose();
        await pair.Peer.SendAllAsync("pulled\n");

        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("pulled\n"));
        Assert.That(Loopback.Text(observer.Data), Is.EqualTo("pushed\n"));
    }

    [Test]
    public async Task ResubscribeAfterDispose_ContinuesWhereTheFirstStopped()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var first = new RecordingObserver();
        var subscription = pair.Reader.Subscribe(first);
        await pair.Peer.SendAllAsync("one ");
        await first.FirstChunk.Within();
        subscription.Dispose();

        var second = new RecordingObserver();
        using var again = pair.Reader.Subscribe(second);
        await pair.Peer.SendAllAsync("two");
        await pair.Peer.ShutdownSendAsync();

        Assert.That(await second.Done.Within(), Is.Null);
        Assert.That(Loopback.Text(first.Data) + Loopback.Text(second.Data), Is.EqualTo("one two"));
    }

    [Test]
    public async Task DisposedSubscriptionThenImmediatePull_Repeated_NeverSecondConsumerError()
    {
        // The contract: "bytes a disposed subscription did not deliver are kept for the next one" and only an *active*
        // consumer makes another fail. A pull read started right after Dispose must wait for the subscription to wind
        // down, never fail with InvalidOperationException. Repeated, because the hand-over is a race: the
        // subscription's loop is held inside OnNext, then released just before the pull read starts.
        await using var pair = await TransportKit.OpenAsync(transport);
        const int Rounds = 1000;
        for (int round = 0; round < Rounds; round++)
        {
            await pair.Peer.SendAllAsync("x");
            var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var gate = new ManualResetEventSlim();
            var observer = new RecordingObserver
            {
                OnEachChunk = _ =>
                {
                    entered.TrySetResult();
                    gate.Wait(Loopback.Timeout);
                },
            };
            var subscription = pair.Reader.Subscribe(observer);
            await entered.Task.Within();
            subscription.Dispose();
            gate.Set();

            try
            {
                Assert.That((await pair.Reader.ReadAsync(0).Within()).IsEmpty, Is.True);
            }
            catch (InvalidOperationException error)
            {
                Assert.Fail($"round {round}: a pull read right after a disposed subscription failed: {error.Message}");
            }
        }
    }

    [Test]
    public async Task Dispose_WhileForwardingWaitsOnAPausedWriter_TheNextConsumerReads()
    {
        // a.Reader.Subscribe(b.Writer) with b's peer not reading: the subscription waits for b to drain. Disposing it
        // must end that wait, so the next consumer of a's bytes can read (it once waited for b forever).
        await using var a = await TransportKit.OpenAsync(transport);
        await using var b = await TransportKit.OpenAsync(transport, smallBuffers: true);
        var forwarding = a.Reader.Subscribe(b.Writer);

        // Far more than b's path holds (its small kernel buffers or pipe, plus its 64 KiB high-water mark): b pauses.
        var sending = a.Peer.SendAsync(new byte[16 * 1024 * 1024]);
        await TransportKit.WaitUntilAsync(() => b.Writer.IsPaused, "b's writer is above its high-water mark");
        forwarding.Dispose();

        var next = await a.Reader.ReadAsync(1000).Within();
        Assert.That(next.Length, Is.GreaterThan(0), "the next consumer reads the bytes the forwarding left");
        await a.Peer.DisposeAsync();
        await sending.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // may fail once the peer is gone; observed
    }
}
