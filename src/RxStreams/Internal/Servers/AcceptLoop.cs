using System.Net.Sockets;
using RxStreams.Internal;

namespace RxStreams;

// The accept loops: one per listening socket, accepting while at least one subscriber is registered and handing each
// connection to every subscriber (the server is a hot, multicast observable). The type's docs are in StreamServer.cs.
public sealed partial class StreamServer
{
    private async Task AcceptLoopAsync(Listener listener)
    {
        var backoff = new AcceptBackoff();
        var closing = _closing.Token;
        while (!closing.IsCancellationRequested)
        {
            CancellationToken accepting;
            try
            {
                // With no subscriber nothing is accepted: clients wait in the OS backlog until one arrives.
                accepting = await _subscribers.WaitForSubscribersAsync(closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Socket socket;
            try
            {
                await WaitForConnectionSlotAsync(accepting).ConfigureAwait(false);
                socket = await listener.Socket.AcceptAsync(accepting).ConfigureAwait(false);
            }
            catch (Exception) when (IsClosed)
            {
                return;
            }
            catch (OperationCanceledException) when (accepting.IsCancellationRequested)
            {
                continue; // the last subscriber left: pause until the next one
            }
            catch (Exception error) when (IsListenerGone(error))
            {
                OnListenerLost(listener, error); // closed or shut down under us: retrying would spin
                return;
            }
            catch (SocketException error) when (AcceptBackoff.IsShortage(error))
            {
                // Out of descriptors (EMFILE, ENFILE) or buffers: retrying at once would spin and log without end.
                await BackOffAsync(listener, backoff, error, accepting).ConfigureAwait(false);
                continue;
            }
            catch (SocketException error)
            {
                // A client that gave up before we accepted it: keep serving.
                OnAcceptError(error, listener);
                await Task.Yield();
                continue;
            }

            OnAccepted(listener, backoff);
            try
            {
                AdoptAndDeliver(socket, listener);
            }
            catch (Exception error)
            {
                // A logger or subscriber that threw while this connection's failure was reported (the connection was
                // failed already): the loop goes on.
                OnAcceptError(error, listener);
            }
        }
    }

    private void AdoptAndDeliver(Socket socket, Listener listener)
    {
        StreamConnection connection;
        try
        {
            connection = Adopt(socket, listener.IsTcp);
        }
        catch (Exception error)
        {
            // The peer reset before we could set the socket up (or the set-up failed otherwise): that connection is gone,
            // the server is not.
            socket.Dispose();
            OnAcceptError(error, listener);
            return;
        }

        if (_setupSteps.Length == 0)
        {
            DeliverToSubscribers(connection);
        }
        else
        {
            _ = SetUpThenDeliverAsync(connection);
        }
    }

    private async Task SetUpThenDeliverAsync(StreamConnection connection)
    {
        try
        {
            foreach (var step in _setupSteps)
            {
                await step(connection, _closing.Token).ConfigureAwait(false);
            }
        }
        catch (Exception error)
        {
            // A peer that fails its PROXY header or TLS handshake loses its own connection; the server goes on.
            connection.Core.Fail(error);
            if (error is not OperationCanceledException)
            {
                OnSetupError(connection, error);
            }

            return;
        }

        DeliverToSubscribers(connection);
    }

    /// <summary>
    /// Hands the connection to every subscriber registered now. One that nobody took (every subscriber left since the
    /// accept) is aborted, so none is left open without an owner; one whose <c>OnNext</c> threw is aborted after every
    /// subscriber had it, and each exception goes to <see cref="Errors"/>.
    /// </summary>
    private void DeliverToSubscribers(StreamConnection connection)
    {
        Tracing.Delivered(connection);
        bool taken = false;
        List<Exception>? errors = null;
        foreach (var subscriber in _subscribers.Snapshot)
        {
            if (subscriber.Deliver(connection, out var error))
            {
                taken = true;
            }

            if (error is not null)
            {
                (errors ??= []).Add(error);
            }
        }

        if (errors is not null)
        {
            connection.Core.Fail(errors[0]);
            foreach (var error in errors)
            {
                OnHandlerError(connection.RemoteEndPoint, error);
            }
        }
        else if (!taken)
        {
            connection.Abort();
        }
    }
}
