using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace RxStreams.Internal;

/// <summary>
/// A socket's readiness for input as told by its <see cref="EventLoop"/> (edge-triggered epoll), and the waits on it: the
/// event loop's replacement for .NET's zero-byte receive in <see cref="SocketChannel"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>No lost edge.</b> Edge-triggered epoll reports data when it arrives, not while it is queued, so the question a
/// wait must answer is "has the socket been seen empty since the last edge?". The channel's receive tells
/// (<see cref="MarkDrained"/>: a receive that would block or took less than it asked for, counted against the edges
/// before it looked), and a wait blocks only when no edge came since. A wait right after a full receive (TLS's
/// zero-byte read does not receive first) therefore completes at once, as does every wait after a hang-up or an error,
/// since a FIN that came with the last data makes no further edge. Every edge wakes every waiter, so two waiters on one
/// socket (a reader and a lingering close) cannot take each other's wake.
/// </para>
/// <para>
/// <b>Where waiters resume.</b> Only the push reader's wait (<c>inline</c>) resumes on the loop's thread, so its
/// receive, decode, subscribers and send run to completion there. Every other waiter (a pull read resuming the caller's
/// code, a TLS handshake resuming <c>OpenConnectionAsync</c>'s caller, a TLS record fill, a lingering close) resumes on
/// the thread pool: code that may block (a synchronous wait on another connection) must never hold the loop, which
/// serves every other socket registered with it.
/// </para>
/// </remarks>
internal sealed class SocketReadiness
{
    private readonly EventLoop _loop;
    private readonly long _id;
    private readonly Waiter _inline = new(inline: true); // the push reader's, reused
    // Any other waiter's, reused while free, and the dispatched waiters waiting now (locked on itself): both made on first
    // use, since an idle connection served by a push reader never has such a waiter (idle memory is per connection).
    private Waiter? _dispatched;
    private List<Waiter>? _armedOthers;
    private int _armedOthersCount;
    private long _edges;
    private long _drained;
    private int _ended; // hung up, failed or closed: every wait completes at once
    private int _unregistered;

    /// <summary>Registers <paramref name="socket"/> with <paramref name="loop"/>.</summary>
    public SocketReadiness(Socket socket, EventLoop loop)
    {
        _loop = loop;
        _id = loop.Add(socket, this);
    }

    /// <summary>The edges seen so far: read before looking at the socket, passed to <see cref="MarkDrained"/> after.</summary>
    public long Edges => Volatile.Read(ref _edges);

    private bool IsReady => Volatile.Read(ref _ended) != 0 || Volatile.Read(ref _edges) != Volatile.Read(ref _drained);

    /// <summary>The socket was seen empty after the first <paramref name="edges"/> edges: waits block until the next one.</summary>
    public void MarkDrained(long edges) => Volatile.Write(ref _drained, edges);

    /// <summary>
    /// Completes when the socket may have something to receive: at once if it has not been seen empty since the last edge,
    /// or after a hang-up or the close. With <paramref name="inline"/> the waiter resumes on the loop's thread.
    /// </summary>
    public ValueTask<int> WaitAsync(bool inline, CancellationToken cancellationToken)
    {
        if (IsReady)
        {
            return new ValueTask<int>(0);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        if (inline && _inline.TryAcquire())
        {
            var wait = _inline.Arm(cancellationToken);

            // Armed, then checked (both full fences, as in Signal): an edge or a close that came meanwhile wakes it here.
            if (IsReady)
            {
                _inline.Wake(inline: true);
            }

            return wait;
        }

        var reusable = LazyInitializer.EnsureInitialized(ref _dispatched, static () => new Waiter(inline: false));
        var armedOthers = LazyInitializer.EnsureInitialized(ref _armedOthers, static () => []);
        var waiter = reusable.TryAcquire() ? reusable : Waiter.CreateAcquired();
        var dispatched = waiter.Arm(cancellationToken);
        waiter.ListedIn = this;
        lock (armedOthers)
        {
            armedOthers.Add(waiter);
            Interlocked.Exchange(ref _armedOthersCount, armedOthers.Count);
        }

        if (IsReady)
        {
            waiter.Wake(inline: false);
        }

        return dispatched;
    }

    /// <summary>
    /// The loop saw an edge: every waiter wakes (the push reader inline, on this thread). A hang-up or an error
    /// (<paramref name="lasting"/>) stays signalled for good: a FIN that came with the last data makes no further edge.
    /// </summary>
    public void Signal(bool lasting)
    {
        if (lasting)
        {
            Interlocked.Exchange(ref _ended, 1);
        }

        Interlocked.Increment(ref _edges);
        WakeAll(inline: true);
    }

    /// <summary>Stops the loop watching <paramref name="socket"/>; call before its handle closes.</summary>
    public void Unregister(Socket socket)
    {
        if (Interlocked.Exchange(ref _unregistered, 1) == 0)
        {
            _loop.Remove(socket, _id);
        }
    }

    /// <summary>The channel closed: every waiter, now or later, wakes (on the thread pool) and its receive reports the end.</summary>
    public void Close()
    {
        Interlocked.Exchange(ref _ended, 1);
        WakeAll(inline: false);
    }

    private void WakeAll(bool inline)
    {
        if (Volatile.Read(ref _armedOthersCount) != 0)
        {
            lock (_armedOthers!)
            {
                foreach (var waiter in _armedOthers)
                {
                    waiter.Wake(inline: false); // only queues their continuations: nothing runs under the lock
                }

                _armedOthers.Clear();
                Interlocked.Exchange(ref _armedOthersCount, 0);
            }
        }

        _inline.Wake(inline);
    }

    private void Forget(Waiter waiter)
    {
        if (Volatile.Read(ref _armedOthersCount) != 0)
        {
            lock (_armedOthers!)
            {
                _armedOthers.Remove(waiter);
                Interlocked.Exchange(ref _armedOthersCount, _armedOthers.Count);
            }
        }
    }

    /// <summary>One reusable wait: acquired, armed, woken once (the first of a wake and its cancellation), awaited, released.</summary>
    private sealed class Waiter : IValueTaskSource<int>
    {
        private readonly bool _inline;
        private ManualResetValueTaskSourceCore<int> _core;
        private int _inUse; // from acquiring until the result is taken
        private int _armed; // 0, or the armed version's tag: only the completion that takes it completes the core
        private CancellationTokenRegistration _registration;

        public Waiter(bool inline) => _inline = inline;

        /// <summary>The readiness whose list of waiters holds it until woken (a cancelled wait leaves it there).</summary>
        public SocketReadiness? ListedIn { get; set; }

        public static Waiter CreateAcquired()
        {
            var waiter = new Waiter(inline: false);
            waiter._inUse = 1;
            return waiter;
        }

        public bool TryAcquire() => Interlocked.CompareExchange(ref _inUse, 1, 0) == 0;

        public ValueTask<int> Arm(CancellationToken cancellationToken)
        {
            _core.Reset();
            short version = _core.Version;
            int armed = version + short.MaxValue + 2; // never 0
            Interlocked.Exchange(ref _armed, armed);
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(
                    static (state, token) =>
                    {
                        var (waiter, armed) = ((Waiter, int))state!;
                        waiter.Complete(armed, new OperationCanceledException(token), inline: false);
                    },
                    (this, armed));
            }

            return new ValueTask<int>(this, version);
        }

        /// <summary>Completes the armed wait, if any; its continuation runs here only for the inline waiter and <paramref name="inline"/>.</summary>
        public void Wake(bool inline)
        {
            int armed = Volatile.Read(ref _armed);
            if (armed != 0)
            {
                Complete(armed, null, inline);
            }
        }

        public int GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _registration.Unregister(); // never blocks, unlike Dispose; a late callback finds its version gone
                _registration = default;
                if (ListedIn is { } readiness)
                {
                    ListedIn = null;
                    readiness.Forget(this); // before it can be armed and listed again
                }

                Volatile.Write(ref _inUse, 0);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        private void Complete(int armed, Exception? error, bool inline)
        {
            if (Interlocked.CompareExchange(ref _armed, 0, armed) != armed)
            {
                return;
            }

            // Set by the one completer, before the result: the waiter cannot re-arm until it has taken that result.
            _core.RunContinuationsAsynchronously = !(_inline && inline);
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
}
