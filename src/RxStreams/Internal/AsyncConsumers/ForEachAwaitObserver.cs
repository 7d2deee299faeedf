using System.Reactive.Disposables;

namespace RxStreams.Internal;

/// <summary>
/// <c>source.ForEachAwaitAsync(action, ct)</c>: runs an async callback per element, one at a time and in order, and
/// holds the reader that feeds it (a <see cref="ReadHold"/>) while a callback's task is running.
/// </summary>
/// <remarks>
/// <code>
/// event                          | action
/// OnNext, idle                   | run the callback inline; if its task is not done: raise the hold, continue when it is
/// OnNext, a callback running     | queue the element (the rest of the chunk being decoded), raise the hold
/// callback done                  | next queued element; none: release the hold, idle (or finish if the source ended)
/// OnCompleted / OnError          | finish once the queue is drained: the task completes / faults with the source's error
/// callback throws or faults      | unsubscribe, drop the queue, release the hold; the task faults with that error
/// cancellation                   | unsubscribe, drop the queue, release the hold; the task is cancelled once the running callback ended
/// </code>
/// <para>
/// Outside a reader's dispatch (a <c>Subject</c>, <c>Observable.Range</c>, after <c>ObserveOn</c>) nothing can be held:
/// the queue grows as the source pushes, as in Rx's <c>ObserveOn</c>. <c>OnNext</c> never blocks, so a source that
/// runs on the callback's own thread cannot deadlock.
/// </para>
/// </remarks>
internal sealed class ForEachAwaitObserver<T> : IObserver<T>
{
    private readonly Func<T, CancellationToken, Task> _action;
    private readonly CancellationToken _cancellationToken;
    private readonly Lock _gate = new();
    private readonly Queue<T> _queue = new();
    private readonly ReadHold _hold = new();
    private SingleAssignmentDisposableValue _subscription;
    // Inside a simulation (WorkQueue.Ambient) continuations stay on its thread: inline, as it completes at the end of a dispatch.
    private readonly TaskCompletionSource _completion = new(WorkQueue.Ambient is null ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
    private CancellationTokenRegistration _registration;
    private bool _running;   // a callback is running, or a drain loop owns the queue
    private bool _ended;     // the source completed or failed
    private Exception? _sourceError;
    private bool _stopped;   // a callback failed or the token was cancelled: nothing more runs

    private ForEachAwaitObserver(Func<T, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        _action = action;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Subscribes and returns the task that ends with the stream.</summary>
    public static Task Run(IObservable<T> source, Func<T, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var observer = new ForEachAwaitObserver<T>(action, cancellationToken);
        observer._registration = cancellationToken.UnsafeRegister(static state => ((ForEachAwaitObserver<T>)state!).Cancel(), observer);
        try
        {
            observer._subscription.Disposable = source.Subscribe(observer);
        }
        catch (Exception error)
        {
            observer.Stop(error);
        }

        return observer._completion.Task;
    }

    public void OnNext(T value)
    {
        lock (_gate)
        {
            if (_stopped || _ended)
            {
                return;
            }

            if (_running)
            {
                _queue.Enqueue(value);
                _hold.TryRaise(); // this dispatch (of any reader feeding us) waits for the queue to drain
                return;
            }

            _running = true;
        }

        var pending = Invoke(value);
        if (pending.IsCompletedSuccessfully)
        {
            lock (_gate)
            {
                if (_queue.Count == 0 && !_stopped)
                {
                    _running = false; // the fast path: a callback that finished at once holds nothing
                    return;
                }
            }
        }
        else if (!pending.IsCompleted)
        {
            _hold.TryRaise(); // we are on the reader's dispatch: it reads again when the callback is done
        }

        _ = DrainAsync(pending);
    }

    public void OnError(Exception error) => End(error);

    public void OnCompleted() => End(null);

    private void End(Exception? error)
    {
        lock (_gate)
        {
            if (_stopped || _ended)
            {
                return;
            }

            _ended = true;
            _sourceError = error;
            if (_running)
            {
                return; // the drain loop finishes once the queue is empty
            }
        }

        Finish();
    }

    /// <summary>Awaits the running callback, then runs the queued elements; never throws (every outcome goes to the task).</summary>
    private async Task DrainAsync(Task pending)
    {
        Exception? failure;
        bool stopped;
        while (true)
        {
            failure = null;
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception error)
            {
                failure = error;
            }

            T next;
            lock (_gate)
            {
                stopped = _stopped; // cancelled while the callback ran: it has ended now
                if (stopped || failure is not null)
                {
                    _running = false;
                    _stopped = true;
                    _queue.Clear();
                    break;
                }

                if (!_queue.TryDequeue(out next!))
                {
                    _running = false;
                    _hold.Release();
                    if (!_ended)
                    {
                        return; // idle until the next OnNext
                    }

                    break;
                }
            }

            pending = Invoke(next);
        }

        if (failure is not null)
        {
            Stop(failure);
        }
        else if (stopped)
        {
            Complete(canceled: true, error: null);
        }
        else
        {
            Finish();
        }
    }

    private Task Invoke(T value)
    {
        try
        {
            return _action(value, _cancellationToken) ?? throw new InvalidOperationException("The ForEachAwaitAsync callback returned a null Task.");
        }
        catch (Exception error)
        {
            return Task.FromException(error);
        }
    }

    private void Cancel()
    {
        bool running;
        lock (_gate)
        {
            if (_stopped || (_ended && !_running))
            {
                return;
            }

            _stopped = true;
            _queue.Clear();
            running = _running;
        }

        _hold.Release();
        _subscription.Dispose();
        if (!running)
        {
            Complete(canceled: true, error: null);
        }
    }

    private void Stop(Exception error)
    {
        _hold.Release();
        _subscription.Dispose();
        bool canceled = error is OperationCanceledException && _cancellationToken.IsCancellationRequested;
        Complete(canceled, canceled ? null : error);
    }

    private void Finish()
    {
        _hold.Release();
        Complete(canceled: false, _sourceError);
    }

    private void Complete(bool canceled, Exception? error)
    {
        _registration.Unregister();
        if (canceled)
        {
            _completion.TrySetCanceled(_cancellationToken);
        }
        else if (error is not null)
        {
            _completion.TrySetException(error);
        }
        else
        {
            _completion.TrySetResult();
        }
    }
}
