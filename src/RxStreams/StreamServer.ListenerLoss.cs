using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using RxStreams.Internal;

namespace RxStreams;

/// <summary>What the server does when its own listening socket is closed or shut down under it.</summary>
/// <remarks>
/// <para>
/// Decision (issue 7): an accept that fails because the listening socket itself is gone (disposed, shut down, no longer
/// listening) is not retried, since every retry would fail at once and spin a core. That socket's accept loops end,
/// the loss is reported once on <see cref="Errors"/> as an <see cref="IOException"/>, and the other listening sockets
/// go on. When every listening socket is lost, the server closes itself: subscribers get that
/// <see cref="IOException"/> as <c>OnError</c> (not <c>OnCompleted</c>), <see cref="ServeForeverAsync"/> throws it
/// (so <c>rxstreams echo</c> exits instead of serving nothing), and <see cref="WaitClosedAsync"/> completes once the
/// accepted connections, which are never touched, have closed.
/// </para>
/// <para>
/// Failures of one incoming connection (the client reset before the accept, a transient shortage such as EMFILE) are
/// still reported and survived, as before.
/// </para>
/// </remarks>
public sealed partial class StreamServer
{
    private readonly HashSet<Listener> _lostListeners = [];
    private Exception? _listenersLost;

    /// <summary>Whether an accept failure means the listening socket is gone rather than one connection.</summary>
    private static bool IsListenerGone(Exception error) => error switch
    {
        ObjectDisposedException => true,
        SocketException socket => socket.SocketErrorCode is SocketError.InvalidArgument or SocketError.NotSocket
            or SocketError.OperationAborted or SocketError.Shutdown or SocketError.NotConnected,
        _ => false,
    };

    private void OnListenerLost(Listener listener, Exception error)
    {
        bool allLost;
        lock (_lostListeners)
        {
            if (!_lostListeners.Add(listener))
            {
                return; // another subscriber's loop on the same socket reported it already
            }

            allLost = _lostListeners.Count == _listeners.Length;
        }

        var failure = new IOException($"The listening socket {listener.EndPoint} was closed or failed under the server; it no longer accepts connections.", error);
        ReportError(failure);
        if (allLost)
        {
            Volatile.Write(ref _listenersLost, failure);
            CloseWith(failure);
        }
    }

    private void ThrowIfListenersLost()
    {
        if (Volatile.Read(ref _listenersLost) is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }
}
