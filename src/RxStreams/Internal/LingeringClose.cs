using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxStreams.Internal;

/// <summary>
/// The end of a graceful socket close, a "lingering close" (nginx's <c>lingering_close</c>, Kestrel's drain): once our
/// send side is shut down (FIN; on TLS close_notify first), input is read and discarded until the peer's EOF, and only
/// then is the socket released (ADR 0011).
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
/// Cost: waits are zero-byte receives (no buffer held while the peer is quiet); bytes are received into one static
/// scratch array shared by every lingering connection: nothing is ever read from it, so sharing it is harmless.
/// </para>
/// </remarks>
internal sealed class LingeringClose
{
    /// <summary>The most bytes discarded after our close before the close gives up (1 MiB).</summary>
    public const int MaxDiscardedBytes = 1024 * 1024;

    private static readonly byte[] Scratch = new byte[16 * 1024];

    private readonly SocketTransport _transport;
    private readonly Socket _socket;
    private readonly TimeSpan _timeout;
    private readonly bool _drain;
    private IDisposable? _deadline;
    private int _ended;

    /// <param name="transport">The transport whose socket lingers.</param>
    /// <param name="socket">The socket.</param>
    /// <param name="timeout">The bound in time.</param>
    /// <param name="drain">
    /// Whether to drain until the peer's EOF; without, the socket is released once the send side is shut down (a reader
    /// waiting in a receive holds nothing unread and can only be woken by the release).
    /// </param>
    public LingeringClose(SocketTransport transport, Socket socket, TimeSpan timeout, bool drain)
    {
        _transport = transport;
        _socket = socket;
        _timeout = timeout;
        _drain = drain;
    }

    /// <summary>Starts the deadline, then the drain once <paramref name="sendSideShutdown"/> (TLS: close_notify and FIN) is done.</summary>
    public void Start(Task? sendSideShutdown, IScheduler scheduler)
    {
        _deadline = scheduler.Schedule(this, _timeout, static (_, self) =>
        {
            self.End(reset: true, CreateTimeoutError(self._timeout));
            return Disposable.Empty;
        });
        _ = DrainAsync(sendSideShutdown);
    }

    private async Task DrainAsync(Task? sendSideShutdown)
    {
        try
        {
            if (sendSideShutdown is not null)
            {
                await sendSideShutdown.ConfigureAwait(false); // never faults: its errors are reported by the TLS layer
            }

            long discarded = 0;
            if (!_drain)
            {
                End(reset: false, error: null);
                return;
            }

            while (Volatile.Read(ref _ended) == 0)
            {
                int received = _socket.Receive(Scratch, SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    // Nothing queued: wait without a buffer for data, the peer's FIN, or an error.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                    continue;
                }

                if (error != SocketError.Success || received == 0)
                {
                    // The peer's EOF: it has read everything it wanted, and nothing is left to provoke a reset. A reset
                    // from the peer means it dropped the connection itself: nothing we could still deliver.
                    End(reset: error != SocketError.Success, error: null);
                    return;
                }

                discarded += received;
                if (discarded > MaxDiscardedBytes)
                {
                    End(reset: true, CreateByteLimitError());
                    return;
                }
            }
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            // Released under us (the deadline or an abort ended the linger), or the peer is gone.
            End(reset: true, error: null);
        }
    }

    private void End(bool reset, Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        _deadline?.Dispose();
        _transport.EndLingeringClose(reset, error);
    }

    /// <summary>The error of a graceful close that ran out of <see cref="ConnectionOptions.CloseTimeout"/>.</summary>
    public static TimeoutException CreateTimeoutError(TimeSpan timeout) =>
        new($"The graceful close did not finish within CloseTimeout ({timeout}): the peer did not read everything or did " +
            "not end its side of the connection, so the connection was reset and the peer may not have received everything sent before the close.");

    private static IOException CreateByteLimitError() =>
        new($"The peer sent more than {MaxDiscardedBytes} bytes after the close without ending its side; the close stopped " +
            "discarding them and reset the connection, so the peer may not have received everything sent before the close.",
            new SocketException((int)SocketError.ConnectionReset));
}
