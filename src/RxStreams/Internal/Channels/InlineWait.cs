using System.Threading.Tasks.Sources;

namespace RxStreams.Internal;

/// <summary>
/// One wait for data on a scripted <see cref="InMemoryPipe"/>: completes inline on the feeding thread, and says when its
/// awaiter has attached its continuation, so a feed can wait for that moment and never race the receiver's thread.
/// </summary>
internal sealed class InlineWait : IValueTaskSource<int>
{
    private ManualResetValueTaskSourceCore<int> _core; // RunContinuationsAsynchronously = false: inline on Complete
    private readonly Action _onAttached;
    private int _completed;
    private CancellationTokenRegistration _registration;
    private bool _attached;

    public InlineWait(Action onAttached, CancellationToken cancellationToken)
    {
        _onAttached = onAttached;
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(static (state, token) => ((InlineWait)state!).Fail(new OperationCanceledException(token)), this);
        }
    }

    /// <summary>Whether the awaiter's continuation is attached (from then on, completing runs it on the completing thread).</summary>
    public bool IsAttached => Volatile.Read(ref _attached);

    /// <summary>Whether it completed or was cancelled: it no longer stands for a waiting receiver.</summary>
    public bool IsDone => Volatile.Read(ref _completed) != 0;

    public ValueTask<int> AsValueTask() => new(this, _core.Version);

    /// <summary>Completes the wait (the first completion wins).</summary>
    public void Complete()
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _registration.Dispose();
            _core.SetResult(0);
        }
    }

    public int GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _core.OnCompleted(continuation, state, token, flags);
        Volatile.Write(ref _attached, true);
        _onAttached();
    }

    private void Fail(Exception error)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetException(error);
        }
    }
}
