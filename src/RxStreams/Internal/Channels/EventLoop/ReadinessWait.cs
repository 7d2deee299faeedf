using System.Threading.Tasks.Sources;

namespace RxStreams.Internal;

/// <summary>
/// A channel's one reusable wait for readiness, told by its <see cref="EventLoop"/>. A readiness that comes while nobody
/// waits is remembered, so the next wait completes at once (possibly spuriously: the caller just receives again); a
/// readiness that comes while the reader waits completes the wait inline on the loop's thread, so the reader's
/// continuation (receive, decode, handler, send) runs there to completion with no thread-pool hop.
/// </summary>
internal sealed class ReadinessWait : IValueTaskSource<int>
{
    private ManualResetValueTaskSourceCore<int> _core; // RunContinuationsAsynchronously = false: inline on completion
    private int _signaled;
    private int _pending; // 0, or the armed wait's version + 1: only the completion that takes it completes the core
    private int _closed; // closed, hung up or failed: every wait completes at once
    private CancellationTokenRegistration _registration;

    /// <summary>Waits for the next readiness; completes at once if one came since the last wait, or after closing.</summary>
    public ValueTask<int> WaitAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _signaled, 0) != 0 || Volatile.Read(ref _closed) != 0)
        {
            return new ValueTask<int>(0);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        // The last wait's cancellation registration goes here, on the waiting side, never on the loop's thread.
        _registration.Unregister(); // never blocks, unlike Dispose
        _registration = default;
        _core.Reset();
        short version = _core.Version;
        int armed = version + 1 + short.MaxValue + 1; // never 0
        Interlocked.Exchange(ref _pending, armed);
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var (wait, armed) = ((ReadinessWait, int))state!;
                    wait.Complete(armed, new OperationCanceledException(token));
                },
                (this, armed));
        }

        // A readiness or a close between the first check and arming saw no waiter: take it now.
        if (Interlocked.Exchange(ref _signaled, 0) != 0 || Volatile.Read(ref _closed) != 0)
        {
            Complete(armed, null);
        }

        return new ValueTask<int>(this, version);
    }

    /// <summary>
    /// The loop saw the descriptor ready: wakes the waiter, or remembers it for the next wait. A hang-up or an error
    /// (<paramref name="lasting"/>) stays signalled for good: the loop is edge-triggered, and a FIN that came with the
    /// last data makes no further edge, yet the reader's next receive must still see it.
    /// </summary>
    public void Signal(bool lasting)
    {
        if (lasting)
        {
            Interlocked.Exchange(ref _closed, 1);
        }

        Interlocked.Exchange(ref _signaled, 1);
        int armed = Volatile.Read(ref _pending);
        if (armed != 0 && Interlocked.CompareExchange(ref _pending, 0, armed) == armed)
        {
            Interlocked.Exchange(ref _signaled, 0); // this wake carries it
            Finish(null);
        }
    }

    /// <summary>The channel closed: the waiter (now or later) wakes, and its next receive reports the end or the error.</summary>
    public void Close()
    {
        Interlocked.Exchange(ref _closed, 1);
        int armed = Volatile.Read(ref _pending);
        if (armed != 0)
        {
            Complete(armed, null);
        }
    }

    public int GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Complete(int armed, Exception? error)
    {
        if (Interlocked.CompareExchange(ref _pending, 0, armed) == armed)
        {
            Finish(error);
        }
    }

    private void Finish(Exception? error)
    {
        if (error is null)
        {
            _core.SetResult(0);
        }
        else
        {
            _core.SetException(error);
        }
    }
}
