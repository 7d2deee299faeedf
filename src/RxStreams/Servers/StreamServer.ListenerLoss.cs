using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using RxStreams.Internal;

namespace RxStreams;

// Listener loss: what the server does when its own listening socket is closed or shut down under it
// (docs/adr/0014-listener-loss-and-connection-cap.md). The type's docs are in StreamServer.cs.
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
        Log.ListenerLost(_logger, listener.EndPoint, failure);
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
