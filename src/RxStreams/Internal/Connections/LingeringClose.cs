using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxStreams.Internal;

/// <summary>
/// The end of a graceful close over a socket, a "lingering close" (nginx's <c>lingering_close</c>, Kestrel's drain): once
/// our send side is shut down (FIN; on TLS close_notify first), input is read and discarded until the peer's EOF, and
/// only then is the channel released (ADR 0011). The <see cref="ConnectionCore"/> runs it in the background, after the
/// connection is closed for its user, over whatever channel the connection has now: a socket, or TLS over one.
/// </summary>
/// <remarks>
/// <para>
/// Why: closing a socket whose receive buffer holds unread bytes, or that receives bytes after the close, makes the kernel
/// send a reset, and a reset makes the peer's kernel throw away what it received and its application has not read yet:
/// the tail of everything we wrote before the close. RxStreams never reads ahead, so unread input at close is common (a
/// greeting nobody reads, a TLS 1.3 session ticket, a pipelined request). Reading it, and waiting for the peer's EOF,
/// means the peer has had every byte by the time the socket goes.
/// </para>
/// <para>
/// Bounds: the linger ends with an error and a reset when it lasts longer than <see cref="ConnectionOptions.CloseTimeout"/>
/// (a <see cref="TimeoutException"/>) or when the peer sends more than <see cref="MaxDiscardedBytes"/> after the close
/// (an <see cref="IOException"/>): the peer may then not have received everything, and the connection says so. A reset
/// from the peer ends it without an error (the peer chose to drop the connection).
/// </para>
/// <para>
/// Cost: waits are the channel's own zero-byte waits (no buffer held while the peer is quiet); bytes are received into a
/// pooled array (<see cref="ReceiveStrategy.Pooled"/>: nothing is ever read from it) that goes back to the pool when the
/// linger ends.
/// </para>
/// </remarks>
internal sealed class LingeringClose
{
    /// <summary>The most bytes discarded after our close before the close gives up (1 MiB).</summary>
    public const int MaxDiscardedBytes = 1024 * 1024;

    private readonly ConnectionCore _core;
    private readonly IByteChannel _channel;
    private readonly TimeSpan _timeout;
    private readonly bool _drain;
    private ReadBuffer _discard;
    private IDisposable? _deadline;
    private int _ended;

    /// <param name="core">The connection whose channel lingers.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="timeout">The bound in time.</param>
    /// <param name="drain">
    /// Whether to drain until the peer's EOF; without, the channel is released once the send side is shut down (a reader
    /// waiting in a receive holds nothing unread and can only be woken by the release).
    /// </param>
    public LingeringClose(ConnectionCore core, IByteChannel channel, TimeSpan timeout, bool drain)
    {
        _core = core;
        _channel = channel;
        _timeout = timeout;
        _drain = drain;
    }

    /// <summary>Starts the deadline, then the drain once the send side is shut down (TLS: close_notify and FIN).</summary>
    public void Start(IScheduler scheduler)
    {
        _deadline = scheduler.Schedule(this, _timeout, static (_, self) =>
        {
            self.End(reset: true, CreateTimeoutError(self._timeout));
            return Disposable.Empty;
        });
        _ = DrainAsync();
    }

    /// <summary>The error of a graceful close that ran out of <see cref="ConnectionOptions.CloseTimeout"/>.</summary>
    public static TimeoutException CreateTimeoutError(TimeSpan timeout) =>
        new($"The graceful close did not finish within CloseTimeout ({timeout}): the peer did not read everything or did " +
            "not end its side of the connection, so the connection was reset and the peer may not have received everything sent before the close.");

    private static IOException CreateByteLimitError() =>
        new($"The peer sent more than {MaxDiscardedBytes} bytes after the close without ending its side; the close stopped " +
            "discarding them and reset the connection, so the peer may not have received everything sent before the close.",
            new SocketException((int)SocketError.ConnectionReset));

    private async Task DrainAsync()
    {
        try
        {
            try
            {
                await _channel.ShutdownSendAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already shut down (WriteEof), or the peer is gone: the drain finds out which.
            }

            if (!_drain)
            {
                End(reset: false, error: null);
                return;
            }

            long discarded = 0;
            while (Volatile.Read(ref _ended) == 0)
            {
                int received = _channel.TryReceive(ref _discard, ReceiveStrategy.Pooled);
                if (received < 0)
                {
                    // Nothing queued: wait without a buffer for data, the peer's EOF, or an error.
                    await _channel.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                if (received == 0)
                {
                    // The peer's EOF: it has read everything it wanted, and nothing is left to provoke a reset.
                    End(reset: false, error: null);
                    break;
                }

                _discard.Clear();
                _discard.RewindIfEmpty(); // nothing of it was handed out: the same array takes the next receive
                discarded += received;
                if (discarded > MaxDiscardedBytes)
                {
                    End(reset: true, CreateByteLimitError());
                    break;
                }
            }
        }
        catch (Exception)
        {
            // A reset from the peer (it dropped the connection itself: nothing we could still deliver), or the channel was
            // released under us (the deadline ended the linger).
            End(reset: true, error: null);
        }
        finally
        {
            _discard.ReleaseIfEmpty(); // the pooled array goes back
        }
    }

    private void End(bool reset, Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        _deadline?.Dispose();
        _core.OnLingerEnded(_channel, reset, error);
    }
}
