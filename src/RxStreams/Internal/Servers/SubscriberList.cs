namespace RxStreams.Internal.Servers;

/// <summary>
/// A server's subscribers, and the accepting period they open: the first subscriber starts one (a token its accept loops
/// accept under), the last one to leave cancels it, so a pending accept stops and new clients wait in the backlog.
/// </summary>
/// <remarks>
/// Subscribers are kept in a copy-on-write array: delivering a connection reads one snapshot without a lock, and
/// subscribing or leaving (rare next to accepting) pays for the copy.
/// </remarks>
internal sealed class SubscriberList : IDisposable
{
    private readonly Lock _gate = new();
    private ServerSubscription[] _subscribers = [];
    private CancellationTokenSource? _accepting; // set while at least one subscriber is registered
    private TaskCompletionSource _arrived = NewSignal();
    private bool _closed;

    /// <summary>The subscribers now; a connection goes to each of them.</summary>
    public ServerSubscription[] Snapshot => Volatile.Read(ref _subscribers);

    /// <summary>How many subscribers are registered.</summary>
    public int Count => Snapshot.Length;

    /// <summary>Registers <paramref name="subscription"/>; false when the server is closed (it is then not registered).</summary>
    public bool TryAdd(ServerSubscription subscription)
    {
        TaskCompletionSource? firstArrived = null;
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            Volatile.Write(ref _subscribers, [.. _subscribers, subscription]);
            if (_accepting is null)
            {
                _accepting = new CancellationTokenSource();
                firstArrived = _arrived;
                _arrived = NewSignal();
            }
        }

        firstArrived?.TrySetResult();
        return true;
    }

    /// <summary>Unregisters <paramref name="subscription"/>; the last one to leave ends the accepting period.</summary>
    public void Remove(ServerSubscription subscription)
    {
        CancellationTokenSource? ended = null;
        lock (_gate)
        {
            int index = Array.IndexOf(_subscribers, subscription);
            if (index < 0)
            {
                return;
            }

            Volatile.Write(ref _subscribers, [.. _subscribers.AsSpan(0, index), .. _subscribers.AsSpan(index + 1)]);
            if (_subscribers.Length == 0)
            {
                ended = _accepting;
                _accepting = null;
            }
        }

        // Outside the gate: cancelling runs the pending accepts' callbacks synchronously. Disposed once cancelled: a loop
        // that still holds its token sees it cancelled (a cancelled token stays so after its source is disposed).
        End(ended);
    }

    /// <summary>
    /// Waits until at least one subscriber is registered; returns the token of that accepting period (cancelled when
    /// the last subscriber leaves). Throws <see cref="OperationCanceledException"/> when <paramref name="closing"/> fires.
    /// </summary>
    public async ValueTask<CancellationToken> WaitForSubscribersAsync(CancellationToken closing)
    {
        while (true)
        {
            Task arrived;
            lock (_gate)
            {
                if (_accepting is { } accepting)
                {
                    return accepting.Token;
                }

                arrived = _arrived.Task;
            }

            await arrived.WaitAsync(closing).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the list: no subscriber can join any more; returns those registered (to complete them).</summary>
    public ServerSubscription[] Close()
    {
        ServerSubscription[] last;
        CancellationTokenSource? ended;
        lock (_gate)
        {
            _closed = true;
            last = _subscribers;
            Volatile.Write(ref _subscribers, []);
            ended = _accepting;
            _accepting = null;
        }

        End(ended);
        return last;
    }

    /// <summary>Same as <see cref="Close"/>, for owners that do not need the last subscribers.</summary>
    public void Dispose() => Close();

    private static void End(CancellationTokenSource? period)
    {
        if (period is not null)
        {
            period.Cancel();
            period.Dispose();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
