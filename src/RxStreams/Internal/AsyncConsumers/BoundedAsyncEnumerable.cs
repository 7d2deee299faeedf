using System.Reactive.Disposables;
using System.Threading.Tasks.Sources;

namespace RxStreams.Internal;

/// <summary>
/// <c>source.ToBoundedAsyncEnumerable(capacity)</c>: an observable read with <c>await foreach</c>, where the reader that
/// feeds it is held (a <see cref="ReadHold"/>) while <paramref name="capacity"/> elements wait to be taken.
/// </summary>
/// <remarks>
/// Each enumeration subscribes once, on its first <c>MoveNextAsync</c>, and unsubscribes when it is disposed.
/// </remarks>
internal sealed class BoundedAsyncEnumerable<T>(IObservable<T> source, int capacity) : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new Enumerator(source, capacity, cancellationToken);

    /// <summary>
    /// The queue between the reader's dispatch and the consumer.
    /// </summary>
    /// <remarks>
    /// <code>
    /// event                          | action
    /// OnNext, the consumer waits     | hand the element over
    /// OnNext, else                   | queue it; at capacity, raise the hold (the rest of the chunk being decoded still queues)
    /// MoveNextAsync, queue not empty | take one; down to half the capacity, release the hold
    /// MoveNextAsync, queue empty     | wait; the end (or the source's error) once everything queued was taken
    /// cancellation                   | unsubscribe, drop the queue, release the hold; MoveNextAsync throws OperationCanceledException
    /// DisposeAsync                   | unsubscribe, drop the queue, release the hold
    /// </code>
    /// </remarks>
    private sealed class Enumerator : IAsyncEnumerator<T>, IObserver<T>, IValueTaskSource<bool>
    {
        private readonly IObservable<T> _source;
        private readonly int _capacity;
        private readonly int _resumeAt;
        private readonly CancellationToken _cancellationToken;
        private readonly Lock _gate = new();
        private readonly Queue<T> _queue = new();
        private readonly ReadHold _hold = new();
        private SingleAssignmentDisposableValue _subscription;
        private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = WorkQueue.Ambient is null }; // a simulation's thread: inline
        private CancellationTokenRegistration _registration;
        private bool _subscribed;
        private bool _waiting;   // a MoveNextAsync is pending on _signal
        private bool _ended;     // the source completed or failed
        private Exception? _error;
        private bool _stopped;   // cancelled or disposed
        private T _current = default!;

        public Enumerator(IObservable<T> source, int capacity, CancellationToken cancellationToken)
        {
            _source = source;
            _capacity = capacity;
            _resumeAt = capacity / 2;
            _cancellationToken = cancellationToken;
        }

        public T Current => _current;

        public ValueTask<bool> MoveNextAsync()
        {
            if (!_subscribed)
            {
                Subscribe();
            }

            lock (_gate)
            {
                if (_stopped)
                {
                    return _cancellationToken.IsCancellationRequested
                        ? ValueTask.FromCanceled<bool>(_cancellationToken)
                        : ValueTask.FromResult(false);
                }

                if (_queue.TryDequeue(out var next))
                {
                    _current = next;
                    if (_queue.Count <= _resumeAt)
                    {
                        _hold.Release();
                    }

                    return ValueTask.FromResult(true);
                }

                if (_ended)
                {
                    return _error is null ? ValueTask.FromResult(false) : ValueTask.FromException<bool>(_error);
                }

                _hold.Release(); // nothing queued: whatever held the reader is gone
                _signal.Reset();
                _waiting = true;
                return new ValueTask<bool>(this, _signal.Version);
            }
        }

        public ValueTask DisposeAsync()
        {
            Stop();
            _registration.Dispose();
            return default;
        }

        public void OnNext(T value)
        {
            lock (_gate)
            {
                if (_stopped || _ended)
                {
                    return;
                }

                if (!_waiting)
                {
                    _queue.Enqueue(value);
                    if (_queue.Count >= _capacity)
                    {
                        _hold.TryRaise();
                    }

                    return;
                }

                _waiting = false;
                _current = value;
            }

            _signal.SetResult(true);
        }

        public void OnError(Exception error) => End(error);

        public void OnCompleted() => End(null);

        bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

        void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _signal.OnCompleted(continuation, state, token, flags);

        private void Subscribe()
        {
            _subscribed = true;
            _registration = _cancellationToken.UnsafeRegister(static state => ((Enumerator)state!).Stop(), this);
            try
            {
                _subscription.Disposable = _source.Subscribe(this);
            }
            catch (Exception error)
            {
                End(error);
            }
        }

        private void End(Exception? error)
        {
            lock (_gate)
            {
                if (_stopped || _ended)
                {
                    return;
                }

                _ended = true;
                _error = error;
                if (!_waiting)
                {
                    return; // MoveNextAsync reports the end once the queue is drained
                }

                _waiting = false;
            }

            if (error is null)
            {
                _signal.SetResult(false);
            }
            else
            {
                _signal.SetException(error);
            }
        }

        /// <summary>Cancellation or disposal: unsubscribe, drop what is queued, wake a pending <c>MoveNextAsync</c>.</summary>
        private void Stop()
        {
            bool wasWaiting;
            lock (_gate)
            {
                if (_stopped)
                {
                    return;
                }

                _stopped = true;
                _queue.Clear();
                wasWaiting = _waiting;
                _waiting = false;
            }

            _hold.Release();
            _subscription.Dispose();
            if (wasWaiting)
            {
                if (_cancellationToken.IsCancellationRequested)
                {
                    _signal.SetException(new OperationCanceledException(_cancellationToken));
                }
                else
                {
                    _signal.SetResult(false);
                }
            }
        }
    }
}
