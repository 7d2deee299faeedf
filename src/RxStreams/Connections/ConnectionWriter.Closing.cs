using RxStreams.Internal;

namespace RxStreams;

// Ending the output: WriteEof, Close, Abort, WaitClosedAsync and the transport-closed handling; the type's docs are in ConnectionWriter.cs.
public sealed partial class ConnectionWriter
{
    /// <summary>
    /// asyncio's <c>write_eof()</c>: half-closes the connection (TCP FIN) once everything buffered is sent; the peer's data
    /// can still be read. Idempotent; does nothing once closing. On TLS it sends close_notify, then the FIN (asyncio raises
    /// <c>NotImplementedError</c>): TLS 1.3 lets the peer go on sending, and the reader goes on reading; a TLS 1.2 peer
    /// may answer with its own close_notify, which the reader sees as the end of the input.
    /// </summary>
    /// <exception cref="NotSupportedException">The transport cannot half-close (see <see cref="CanWriteEof"/>).</exception>
    public void WriteEof()
    {
        if (!CanWriteEof)
        {
            throw new NotSupportedException("This transport cannot half-close; use Close().");
        }

        bool shutdownNow;
        lock (_queue)
        {
            if (_state != OutputState.Open)
            {
                return;
            }

            _state = OutputState.EofRequested;
            shutdownNow = _queue.IsEmpty && _sending == 0;
            if (shutdownNow)
            {
                _state = OutputState.EofSent;
            }
        }

        if (shutdownNow)
        {
            _core.ShutdownSend();
        }
        else
        {
            FlushNow();
        }
    }

    /// <summary>
    /// asyncio's <c>close()</c>: sends what is buffered, then closes the connection. Returns at once; await
    /// <see cref="WaitClosedAsync"/> to know when it is closed. Idempotent. Bytes already received stay readable.
    /// </summary>
    /// <remarks>
    /// Once everything is handed to the operating system the send side is shut down (FIN; on TLS close_notify first) and
    /// the connection is closed; its socket lingers in the background, reading and discarding input until the peer's EOF,
    /// and only then is released (closing it with unread input would make the kernel reset the connection and destroy what
    /// the peer has not read yet). The linger is bounded by <see cref="ConnectionOptions.CloseTimeout"/> and 1 MiB of
    /// discarded input; when either runs out the socket is reset and <see cref="StreamConnection.Error"/> says so
    /// (<see cref="TimeoutException"/> or <see cref="IOException"/>). See ADR 0011.
    /// </remarks>
    public void Close()
    {
        bool closeNow;
        lock (_queue)
        {
            if (_state >= OutputState.Closing)
            {
                return;
            }

            _state = OutputState.Closing;
            closeNow = _queue.IsEmpty && _sending == 0;
        }

        _core.MarkClosing();
        if (closeNow)
        {
            _core.Close();
        }
        else
        {
            FlushNow();
        }
    }

    /// <summary>
    /// asyncio's <c>transport.abort()</c>: discards what is buffered and resets the connection at once. Pending
    /// <see cref="DrainAsync"/> calls fail (asyncio lets them succeed although the data was thrown away).
    /// </summary>
    public void Abort() => _core.Abort();

    /// <summary>
    /// asyncio's <c>wait_closed()</c>: completes once the connection is closed (not waiting for the socket's linger, see
    /// <see cref="Close"/>). Raises the <see cref="IOException"/> that ended it if it was lost (for example reset by the
    /// peer), or the <see cref="TimeoutException"/> of a <see cref="StreamConnection.DisposeAsync"/> whose flush ran out of
    /// <see cref="ConnectionOptions.CloseTimeout"/>. Cancelling one wait does not affect any other.
    /// </summary>
    /// <param name="cancellationToken">Cancels this wait only.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public Task WaitClosedAsync(CancellationToken cancellationToken = default) => _core.WaitClosedAsync(cancellationToken);

    /// <summary>The transport closed: release every waiter and drop what can no longer be sent.</summary>
    internal void OnTransportClosed(Exception? error)
    {
        TaskCompletionSource? resumed, idle;
        lock (_queue)
        {
            _failure ??= error;
            _state = OutputState.Closed;
            _queue.Discard();
            _buffered = 0;
            Volatile.Write(ref _paused, false);
            resumed = _resumed;
            _resumed = null;
            idle = _sendIdle;
            _sendIdle = null;
        }

        WorkQueue.Set(resumed);
        idle?.TrySetResult();
    }

    private void FinishPendingShutdownLocked(out bool shutdownSend, out bool close)
    {
        shutdownSend = close = false;
        if (_failure is not null)
        {
            return;
        }

        if (_state == OutputState.EofRequested)
        {
            _state = OutputState.EofSent;
            shutdownSend = true;
        }
        else if (_state == OutputState.Closing)
        {
            close = true;
        }
    }
}
