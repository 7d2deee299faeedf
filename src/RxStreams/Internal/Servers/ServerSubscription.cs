namespace RxStreams.Internal.Servers;

/// <summary>
/// One subscriber of a <see cref="StreamServer"/>: delivers each connection to its observer under a gate, so that
/// <c>OnNext</c> calls never overlap (several listening sockets deliver from several accept loops) and none follows
/// <c>OnCompleted</c> or the subscription's disposal (Rx grammar).
/// </summary>
internal sealed class ServerSubscription(SubscriberList list, IObserver<StreamConnection> observer) : IDisposable
{
    private readonly Lock _gate = new();
    private bool _done;

    /// <summary>
    /// Hands <paramref name="connection"/> to the observer; false if this subscription has ended (it took nothing).
    /// An exception from <c>OnNext</c> is returned in <paramref name="error"/>, not thrown, so the other subscribers
    /// still get the connection.
    /// </summary>
    public bool Deliver(StreamConnection connection, out Exception? error)
    {
        error = null;
        lock (_gate)
        {
            if (_done)
            {
                return false;
            }

            try
            {
                observer.OnNext(connection);
            }
            catch (Exception thrown)
            {
                error = thrown;
            }

            return true;
        }
    }

    /// <summary>The server closed: <c>OnCompleted</c>, or <c>OnError(<paramref name="failure"/>)</c> when its listening sockets were lost.</summary>
    public void Complete(Exception? failure)
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }

            _done = true; // under the gate: no OnNext is running, and none will start
        }

        if (failure is null)
        {
            observer.OnCompleted();
        }
        else
        {
            observer.OnError(failure);
        }
    }

    /// <summary>Unsubscribes: nothing more is delivered; the last subscriber to leave pauses accepting.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _done = true;
        }

        list.Remove(this);
    }
}
