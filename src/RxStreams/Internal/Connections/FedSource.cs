namespace RxStreams.Internal;

/// <summary>
/// Bytes fed by hand (asyncio's <c>feed_data</c> / <c>feed_eof</c> / <c>set_exception</c>): the source of a reader created
/// without a connection, for tests and in-memory pipes. The reader's input is this source itself: with no connection there
/// is no lifetime to keep, and an error fed here may even be cleared again (<c>set_exception(None)</c>).
/// </summary>
/// <remarks>
/// <para>
/// This is a <see cref="ByteSource"/> (a reader's input, like <see cref="ConnectionCore"/>), not an
/// <see cref="IByteChannel"/>, on purpose. Under a core it would change what asyncio's bare <c>StreamReader</c> does: the
/// core makes the first error terminal (the connection fails and closes, <c>exception()</c> can no longer be cleared,
/// and the metrics and owner would see a connection), while here an error is only pending and
/// <c>set_exception(None)</c> clears it. Bytes fed count as buffered at once (<see cref="QueuedLength"/>, and
/// <see cref="EndAnnounced"/> for <c>repr</c>), which a channel cannot know. And a fed reader has no writer, so every
/// sending, endpoint and close member of the channel interface would be a stub.
/// </para>
/// <para>
/// A fed <i>connection</i> goes through the channel interface already: <see cref="InMemoryChannel"/> over an
/// <see cref="InMemoryPipe"/> that a script feeds (<c>Offer</c> is <c>feed_data</c>, <c>ShutdownSend</c> is
/// <c>feed_eof</c>, <c>Reset</c> fails the input), as <c>RxStreams.Testing.TestConnection</c> does, with the core above it.
/// </para>
/// </remarks>
internal sealed class FedSource : ByteSource
{
    private readonly Lock _lock = new();
    private readonly Queue<byte[]> _chunks = new();
    private bool _eof;
    private int _queuedBytes;
    private Exception? _error;
    private TaskCompletionSource? _waiter;
    private readonly IWorkQueue? _workQueue = WorkQueue.Ambient; // the thread pool, unless made inside a simulation

    public override bool InputEnded
    {
        get
        {
            lock (_lock)
            {
                return _eof && _chunks.Count == 0;
            }
        }
    }

    public override Exception? PendingError
    {
        get
        {
            lock (_lock)
            {
                return _error;
            }
        }
    }

    /// <summary>Bytes fed and not yet taken by the reader (they count as buffered, as asyncio appends them at once).</summary>
    public override int QueuedLength
    {
        get
        {
            lock (_lock)
            {
                return _queuedBytes;
            }
        }
    }

    /// <summary>Whether <see cref="FeedEof"/> was called (asyncio's <c>eof</c> flag, shown by <c>repr</c>).</summary>
    public override bool EndAnnounced
    {
        get
        {
            lock (_lock)
            {
                return _eof;
            }
        }
    }

    public void Feed(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        var copy = data.ToArray();
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (_eof)
            {
                throw new InvalidOperationException("FeedData after FeedEof.");
            }

            _chunks.Enqueue(copy);
            _queuedBytes += copy.Length;
            waiter = TakeWaiter();
        }

        WorkQueue.Set(waiter);
    }

    public void FeedEof()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _eof = true;
            waiter = TakeWaiter();
        }

        WorkQueue.Set(waiter);
    }

    public void SetException(Exception? error)
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _error = error;
            waiter = TakeWaiter();
        }

        WorkQueue.Set(waiter);
    }

    public override void OnConsumerFault(Exception error) => SetException(error);

    public override int TryReceive(ref ReadBuffer buffer, ReceiveStrategy strategy)
    {
        lock (_lock)
        {
            if (_chunks.Count > 0)
            {
                int total = 0;
                while (_chunks.TryDequeue(out var chunk))
                {
                    buffer.AppendOwned(chunk);
                    total += chunk.Length;
                }

                _queuedBytes = 0;

                return total;
            }

            if (_error is not null)
            {
                throw _error;
            }

            return _eof ? 0 : -1;
        }
    }

    public override ValueTask<int> WaitAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            if (_chunks.Count > 0 || _error is not null || _eof)
            {
                return new ValueTask<int>(0);
            }

            wait = (_waiter ??= WorkQueue.NewSignal(_workQueue)).Task;
        }

        return new ValueTask<int>(WaitCoreAsync(wait, cancellationToken));
    }

    private static async Task<int> WaitCoreAsync(Task wait, CancellationToken cancellationToken)
    {
        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    private TaskCompletionSource? TakeWaiter()
    {
        var waiter = _waiter;
        _waiter = null;
        return waiter;
    }
}
