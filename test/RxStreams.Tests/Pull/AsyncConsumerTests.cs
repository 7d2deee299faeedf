using System.Reactive.Linq;
using System.Reactive.Subjects;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Pull;

/// <summary>
/// ForEachAwaitAsync and ToBoundedAsyncEnumerable over sources no reader feeds: order, completion, errors,
/// cancellation, and no deadlock when the source runs on the consumer's thread (elements then queue, as documented).
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class AsyncConsumerTests
{
    [Test]
    public async Task ForEachAwaitAsync_SynchronousSource_RunsEveryCallbackInOrder_WithoutDeadlock()
    {
        var seen = new List<int>();
        // Range pushes on the subscribing thread without waiting: every element after the first await queues.
        await Observable.Range(0, 100).ForEachAwaitAsync(async (i, ct) =>
        {
            await Task.Yield();
            seen.Add(i);
        }).Within();

        Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 100)));
    }

    [Test]
    public async Task ForEachAwaitAsync_OneCallbackAtATime()
    {
        int running = 0, most = 0;
        var subject = new Subject<int>();
        var loop = subject.ForEachAwaitAsync(async i =>
        {
            most = Math.Max(most, Interlocked.Increment(ref running));
            await Task.Delay(1);
            Interlocked.Decrement(ref running);
        });
        for (int i = 0; i < 20; i++)
        {
            subject.OnNext(i);
        }

        subject.OnCompleted();
        await loop.Within();
        Assert.That(most, Is.EqualTo(1));
    }

    [Test]
    public async Task ForEachAwaitAsync_SourceError_FaultsAfterTheCallbacksForEveryElementBeforeIt()
    {
        var seen = new List<int>();
        var source = Observable.Range(0, 3).Concat(Observable.Throw<int>(new IOException("reset")));
        var loop = source.ForEachAwaitAsync(async (i, ct) =>
        {
            await Task.Yield();
            seen.Add(i);
        });

        var error = Assert.ThrowsAsync<IOException>(async () => await loop.Within());
        Assert.That(error!.Message, Is.EqualTo("reset"));
        Assert.That(seen, Is.EqualTo(new[] { 0, 1, 2 }));
    }

    [Test]
    public async Task ForEachAwaitAsync_CallbackThrows_FaultsWithIt_AndUnsubscribes()
    {
        var subject = new Subject<int>();
        var loop = subject.ForEachAwaitAsync((i, ct) => i == 2 ? throw new FormatException("two") : Task.CompletedTask);
        subject.OnNext(1);
        subject.OnNext(2);

        var error = Assert.ThrowsAsync<FormatException>(async () => await loop.Within());
        Assert.That(error!.Message, Is.EqualTo("two"));
        Assert.That(subject.HasObservers, Is.False);
    }

    [Test]
    public async Task ForEachAwaitAsync_Cancelled_CancelsOnceTheRunningCallbackEnded_AndUnsubscribes()
    {
        using var cancellation = new CancellationTokenSource();
        var subject = new Subject<int>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = subject.ForEachAwaitAsync(async (i, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }, cancellation.Token);
        subject.OnNext(1);
        await started.Task.Within();

        await cancellation.CancelAsync();

        Assert.That(async () => await loop.Within(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(loop.IsCanceled, Is.True);
        Assert.That(subject.HasObservers, Is.False);
    }

    [Test]
    public void ToBoundedAsyncEnumerable_GivesEveryElementInOrder_ThenTheSourcesError()
    {
        var seen = new List<int>();
        var source = Observable.Range(0, 200).Concat(Observable.Throw<int>(new IOException("reset")));

        var error = Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var i in source.ToBoundedAsyncEnumerable(capacity: 4))
            {
                seen.Add(i);
            }
        });

        Assert.That(error!.Message, Is.EqualTo("reset"));
        Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 200)), "a source no reader feeds cannot be held: it queues");
    }

    [Test]
    public async Task ToBoundedAsyncEnumerable_LeavingTheLoop_Unsubscribes()
    {
        var subject = new Subject<int>();
        var taken = new List<int>();
        var consuming = Task.Run(async () =>
        {
            await foreach (var i in subject.ToBoundedAsyncEnumerable())
            {
                taken.Add(i);
                if (i == 1)
                {
                    break;
                }
            }
        });
        await WaitForObserverAsync(subject);
        subject.OnNext(0);
        subject.OnNext(1);

        await consuming.Within();
        Assert.That(taken, Is.EqualTo(new[] { 0, 1 }));
        Assert.That(subject.HasObservers, Is.False);
    }

    [Test]
    public async Task ToBoundedAsyncEnumerable_Cancelled_ThrowsAndUnsubscribes()
    {
        using var cancellation = new CancellationTokenSource();
        var subject = new Subject<int>();
        var consuming = Task.Run(async () =>
        {
            await foreach (var i in subject.ToBoundedAsyncEnumerable().WithCancellation(cancellation.Token))
            {
            }
        });
        await WaitForObserverAsync(subject);

        await cancellation.CancelAsync();

        Assert.That(async () => await consuming.Within(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(subject.HasObservers, Is.False);
    }

    [Test]
    public void Arguments_AreChecked()
    {
        IObservable<int> none = null!;
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentNullException>(() => none.ForEachAwaitAsync((i, ct) => Task.CompletedTask));
            Assert.Throws<ArgumentNullException>(() => Observable.Empty<int>().ForEachAwaitAsync((Func<int, CancellationToken, Task>)null!));
            Assert.Throws<ArgumentNullException>(() => none.ToBoundedAsyncEnumerable());
            Assert.Throws<ArgumentOutOfRangeException>(() => Observable.Empty<int>().ToBoundedAsyncEnumerable(0));
        });
    }

    /// <summary>The enumeration subscribes at its first MoveNextAsync, on the consuming task: wait for it (bounded).</summary>
    private static async Task WaitForObserverAsync<T>(Subject<T> subject)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (!subject.HasObservers)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the enumeration never subscribed");
            await Task.Delay(1);
        }
    }
}
