using RxStreams.Internal;

namespace RxStreams;

// The send loop: flush scheduling (batch, thread pool, reader), the gathered sends, OnBytesSent; the type's docs are in ConnectionWriter.cs.
public sealed partial class ConnectionWriter
{
    /// <summary>Runs a flush requested outside any reader's dispatch.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        Volatile.Write(ref _flushScheduled, 0);
        FlushNow();
    }

    void ISendProgress.OnBytesSent(int count) => OnBytesSent(count);

    /// <summary>Called by a <see cref="WriteBatch"/> when the dispatch that wrote here ends.</summary>
    internal void FlushFromBatch() => FlushNow();

    /// <summary>Whether bytes are queued and no send is running (the connection's reader flushes before it waits).</summary>
    internal bool HasUnflushedData => Volatile.Read(ref _sending) == 0 && !_queue.IsEmpty;

    /// <summary>Starts sending whatever is queued, on this thread, unless a send is already running.</summary>
    internal void FlushNow()
    {
        if (Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
        {
            // Fire and forget: the loop catches every error itself (it fails the transport), and it usually completes
            // synchronously, so discarding the ValueTask neither loses an exception nor wastes a pooled object.
#pragma warning disable CA2012
            _ = SendLoopAsync();
#pragma warning restore CA2012
        }
    }

    /// <summary>The transport handed <paramref name="count"/> more bytes to the OS: they no longer count as buffered.</summary>
    internal void OnBytesSent(int count)
    {
        if (count <= 0)
        {
            return;
        }

        _watchdog?.OnActivity();
        Metrics.BytesSent(count);
        TaskCompletionSource? resumed;
        lock (_queue)
        {
            if (_state == OutputState.Closed)
            {
                return; // a send still in flight when the connection closed: nothing is buffered any more
            }

            _buffered -= count;
            resumed = UpdatePauseState();
        }

        WorkQueue.Set(resumed);
    }

    private void RequestFlush()
    {
        if (WriteBatch.Current is { } batch)
        {
            batch.Enlist(this);
        }
        else if (Volatile.Read(ref _sending) == 0 && Interlocked.Exchange(ref _flushScheduled, 1) == 0)
        {
            WorkQueue.Queue(_workQueue, this);
        }
    }

    private async ValueTask SendLoopAsync()
    {
        while (true)
        {
            SendBatch? taken = null;
            bool shutdownSend = false, close = false;
            TaskCompletionSource? idle = null;
            lock (_queue)
            {
                if (_queue.IsEmpty || _failure is not null || _state == OutputState.Closed)
                {
                    Volatile.Write(ref _sending, 0);
                    FinishPendingShutdownLocked(out shutdownSend, out close);
                    idle = _sendIdle;
                    _sendIdle = null;
                }
                else
                {
                    taken = _queue.TakeAll();
                }
            }

            if (taken is not { } batch)
            {
                idle?.TrySetResult();

                // Everything is sent: now a requested half-close or close can happen (outside the lock: it calls back).
                if (shutdownSend)
                {
                    _core.ShutdownSend();
                }
                else if (close)
                {
                    _core.Close();
                }

                return;
            }

            try
            {
                await _core.SendAsync(batch, this).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                SendQueue.Release(batch);
                Volatile.Write(ref _sending, 0);
                if (_core.IsClosed)
                {
                    return; // we closed or aborted it ourselves: the failed send is a consequence, not the cause
                }

                _core.Fail(error is IOException ? error : new IOException("Sending failed: " + error.Message, error));
                return;
            }

            SendQueue.Release(batch);
        }
    }
}
