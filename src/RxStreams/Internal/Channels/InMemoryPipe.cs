using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// One direction of an in-memory connection: what the sender's and the receiver's kernel buffers hold together on a
/// socket, as one bounded queue of owned byte arrays.
/// </summary>
/// <remarks>
/// <para>States, per direction (the sender's and the receiver's ends change them independently):</para>
/// <code>
/// Open ──ShutdownSend()──► Eof       the receiver reads what is queued, then the end (a FIN)
///   │  ──Reset(error)────► Reset     the receiver reads what is queued, then the error (an RST)
///   └  ──CloseReceiving()► Dropped   the receiver is gone: the queue is discarded and further sends fail (an RST back)
/// </code>
/// <para>
/// A sender that finds the queue full waits for space, so a receiver that does not read pushes back on the sender's
/// <see cref="ConnectionWriter"/> exactly like a full TCP window. With <c>asyncContinuations</c> (pairs of real
/// connections) waiters resume on the thread pool so that two ends writing to each other never recurse; a scripted
/// connection driven by a <c>TestScheduler</c> resumes them inline, so everything happens at the virtual time of the feed.
/// </para>
/// </remarks>
internal sealed class InMemoryPipe(int capacity, bool asyncContinuations)
{
    private readonly Lock _lock = new();
    private readonly Queue<byte[]> _chunks = new();
    private long _queued;
    private bool _eof;
    private Exception? _reset;
    private bool _dropped;
    private TaskCompletionSource? _dataWaiter;
    private TaskCompletionSource? _spaceWaiter;
    private TaskCompletionSource? _receiverArrived;
    private InlineWait? _inlineWaiter; // scripted pipes only: the receiver's wait, completed on the feeding thread
    private readonly IWorkQueue? _workQueue = asyncContinuations ? WorkQueue.Ambient : null; // a simulation's, if made in one

    /// <summary>Takes the oldest queued send into <paramref name="buffer"/>: the byte count, 0 at the end, -1 for "wait".</summary>
    /// <remarks>
    /// One send per call, as a socket's receive returns at most a buffer's worth: the reader adopts each send's array
    /// without a copy whenever it has consumed what came before (<see cref="ReadBuffer.AppendOwned"/>), where taking
    /// every queued send at once would copy all but the first into one contiguous buffer. A waiting sender is woken
    /// once half the capacity is free, not after every receive, so a full pipe does not hand over per send.
    /// </remarks>
    /// <exception cref="IOException">The sender reset the connection and every byte before the reset was taken.</exception>
    public int TryReceive(ref ReadBuffer buffer)
    {
        TaskCompletionSource? space;
        byte[]? chunk;
        lock (_lock)
        {
            if (!_chunks.TryDequeue(out chunk))
            {
                if (_reset is not null)
                {
                    throw _reset;
                }

                return _eof || _dropped ? 0 : -1;
            }

            buffer.AppendOwned(chunk);
            _queued -= chunk.Length;
            space = _queued <= capacity / 2 ? Take(ref _spaceWaiter) : null;
        }

        WorkQueue.Set(space);
        return chunk.Length;
    }

    /// <summary>Completes when <see cref="TryReceive"/> has something to report (bytes, the end, an error).</summary>
    public ValueTask<int> WaitForDataAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            if (_chunks.Count > 0 || _eof || _reset is not null || _dropped)
            {
                return new ValueTask<int>(0);
            }

            if (!asyncContinuations && _inlineWaiter is null or { IsDone: true })
            {
                _inlineWaiter = new InlineWait(OnReceiverAttached, cancellationToken);
                return _inlineWaiter.AsValueTask();
            }

            wait = (_dataWaiter ??= CreateWaiter()).Task;
        }

        if (!cancellationToken.CanBeCanceled)
        {
            return new ValueTask<int>(ZeroAfter(wait));
        }

        return new ValueTask<int>(ZeroAfter(wait.WaitAsync(cancellationToken)));
    }

    /// <summary>
    /// Blocks until a receiver is waiting for data (or the receiving end is gone), at most <paramref name="timeout"/>: a
    /// scripted feed calls it so that what it feeds is handled inline, at the feed's virtual time.
    /// </summary>
    /// <returns>Whether a receiver was waiting in time.</returns>
    public bool WaitForReceiver(TimeSpan timeout)
    {
        Task arrived;
        lock (_lock)
        {
            if (_inlineWaiter is { IsAttached: true, IsDone: false } || _dropped)
            {
                return true;
            }

            arrived = (_receiverArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        return arrived.Wait(timeout);
    }

    /// <summary>Whether the receiving end is gone (its sends would fail).</summary>
    public bool IsDropped
    {
        get
        {
            lock (_lock)
            {
                return _dropped;
            }
        }
    }

    /// <summary>Queues as much of <paramref name="data"/> as fits (a copy); returns how many bytes were taken.</summary>
    /// <exception cref="IOException">The receiving end is closed (the sender's socket would get a reset).</exception>
    public int Offer(ReadOnlySpan<byte> data)
    {
        TaskCompletionSource? waiter;
        InlineWait? inline;
        int taken;
        lock (_lock)
        {
            if (_dropped)
            {
                throw ThrowHelper.WrapSocketError(new SocketException((int)SocketError.ConnectionReset));
            }

            if (_eof || _reset is not null)
            {
                throw new ObjectDisposedException(nameof(InMemoryPipe), "The sending direction is shut down.");
            }

            taken = (int)Math.Min(data.Length, Math.Max(0, capacity - _queued));
            if (taken == 0)
            {
                return 0;
            }

            _chunks.Enqueue(data[..taken].ToArray());
            _queued += taken;
            waiter = Take(ref _dataWaiter);
            inline = TakeInline();
        }

        WorkQueue.Set(waiter);
        inline?.Complete();
        return taken;
    }

    /// <summary>Completes when there is room for more bytes, or when sending can no longer succeed.</summary>
    public Task WaitForSpaceAsync()
    {
        lock (_lock)
        {
            if (_queued < capacity || _dropped || _eof || _reset is not null)
            {
                return Task.CompletedTask;
            }

            return (_spaceWaiter ??= CreateWaiter()).Task;
        }
    }

    /// <summary>The sender half-closed or closed: the receiver reads the end after what is queued. Idempotent.</summary>
    public void ShutdownSend() => Signal(static (pipe, _) => pipe._eof = true, null);

    /// <summary>The sender aborted: the receiver reads <paramref name="error"/> after what is queued. The first call wins.</summary>
    public void Reset(Exception error) => Signal(static (pipe, e) => pipe._reset ??= pipe._eof ? null : e, error);

    /// <summary>The receiver is gone: what is queued is discarded, and the sender's next send fails.</summary>
    public void CloseReceiving()
    {
        Signal(static (pipe, _) =>
        {
            pipe._dropped = true;
            pipe._chunks.Clear();
            pipe._queued = 0;
        }, null);
        TaskCompletionSource? arrived;
        lock (_lock)
        {
            arrived = Take(ref _receiverArrived);
        }

        arrived?.TrySetResult();
    }

    private static async Task<int> ZeroAfter(Task wait)
    {
        await wait.ConfigureAwait(false);
        return 0;
    }

    private static TaskCompletionSource? Take(ref TaskCompletionSource? field)
    {
        var taken = field;
        field = null;
        return taken;
    }

    private InlineWait? TakeInline()
    {
        var taken = _inlineWaiter;
        _inlineWaiter = null;
        return taken;
    }

    private void OnReceiverAttached()
    {
        TaskCompletionSource? arrived;
        lock (_lock)
        {
            arrived = Take(ref _receiverArrived);
        }

        arrived?.TrySetResult();
    }

    private TaskCompletionSource CreateWaiter() =>
        asyncContinuations ? WorkQueue.NewSignal(_workQueue) : new(TaskCreationOptions.None);

    private void Signal(Action<InMemoryPipe, Exception?> change, Exception? error)
    {
        TaskCompletionSource? data, space;
        InlineWait? inline;
        lock (_lock)
        {
            change(this, error);
            data = Take(ref _dataWaiter);
            space = Take(ref _spaceWaiter);
            inline = TakeInline();
        }

        WorkQueue.Set(data);
        WorkQueue.Set(space);
        inline?.Complete();
    }
}
