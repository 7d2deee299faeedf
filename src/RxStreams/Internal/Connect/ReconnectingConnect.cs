using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;

namespace RxStreams.Internal.Connect;

/// <summary>
/// The reconnect loop behind <see cref="ReconnectPolicy"/>: resubscribes to a cold source after a failure (Rx's
/// <c>Retry</c>) and, with <see cref="ReconnectPolicy.ReconnectAfterClose"/>, after a value's sequence ended (Rx's
/// <c>Repeat</c>), each time after the policy's delay on the scheduler.
/// </summary>
/// <remarks>
/// Subscriptions follow one another: the next starts only after the previous one ended and its delay passed, so the
/// source's calls and the timer's are never concurrent and the state needs no lock. Disposing stops the current
/// subscription or the pending timer, whichever there is.
/// </remarks>
/// <typeparam name="T">What the source emits (a connection).</typeparam>
internal sealed class ReconnectingConnect<T> : IObserver<T>, IDisposable
{
    private readonly IObservable<T> _source;
    private readonly ReconnectPolicy _policy;
    private readonly IScheduler _scheduler;
    private readonly IObserver<T> _downstream;
    private readonly SerialDisposable _current = new();
    private int _failures; // attempts in a row that failed before emitting
    private bool _emitted; // the current subscription emitted: its end is a close, not a failed attempt

    private ReconnectingConnect(IObservable<T> source, ReconnectPolicy policy, IScheduler scheduler, IObserver<T> downstream)
    {
        _source = source;
        _policy = policy;
        _scheduler = scheduler;
        _downstream = downstream;
    }

    /// <summary>The source, made to reconnect as <paramref name="policy"/> says; the delays run on <paramref name="scheduler"/>.</summary>
    public static IObservable<T> Create(IObservable<T> source, ReconnectPolicy policy, IScheduler scheduler) =>
        Observable.Create<T>(observer =>
        {
            var loop = new ReconnectingConnect<T>(source, policy, scheduler, observer);
            loop.Subscribe();
            return loop;
        });

    /// <summary>Stops the current subscription or the pending timer.</summary>
    public void Dispose() => _current.Dispose();

    public void OnNext(T value)
    {
        _failures = 0;
        _emitted = true;
        _downstream.OnNext(value);
    }

    public void OnError(Exception error)
    {
        if (_emitted)
        {
            // The connection was made and then failed: with ReconnectAfterClose it is replaced like any other close.
            EndOfConnection(() => _downstream.OnError(error));
            return;
        }

        _failures++;
        bool retry;
        try
        {
            retry = _policy.ShouldTry(error) && !(_policy.MaxAttempts is { } most && _failures >= most);
        }
        catch (Exception predicateFailure)
        {
            _downstream.OnError(predicateFailure); // the user's ShouldRetry threw: that is the sequence's error now
            return;
        }

        if (retry)
        {
            After(_policy.GetDelay(_failures));
        }
        else
        {
            _downstream.OnError(error);
        }
    }

    public void OnCompleted() => EndOfConnection(_downstream.OnCompleted);

    private void EndOfConnection(Action end)
    {
        if (_emitted && _policy.ReconnectAfterClose)
        {
            After(_policy.GetDelay(1));
        }
        else
        {
            end();
        }
    }

    private void After(TimeSpan delay) =>
        _current.Disposable = _scheduler.Schedule(this, delay, static (_, loop) =>
        {
            loop.Subscribe();
            return Disposable.Empty;
        });

    private void Subscribe()
    {
        _emitted = false;
        var subscription = new SingleAssignmentDisposable();
        _current.Disposable = subscription; // ends the timer that called us, or nothing
        subscription.Disposable = _source.SubscribeSafe(this);
    }
}
