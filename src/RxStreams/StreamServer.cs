using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// A listening server: asyncio's <c>Server</c>, and an <see cref="IObservable{T}"/> of the connections it accepts.
/// </summary>
/// <remarks>
/// <para>
/// <b>Accepting is driven by subscribers.</b> Each subscriber runs its own accept loop on the listening sockets, so
/// every connection goes to exactly one subscriber (several subscribers share the load, like several processes on
/// one port). While nobody subscribes, nothing is accepted: connections wait in the OS backlog
/// (<see cref="ServerOptions.Backlog"/>) and none is ever accepted without an owner. The callback form of
/// <see cref="Streams.StartServerAsync(Func{ConnectionReader, ConnectionWriter, Task}, string?, int, ServerOptions?, CancellationToken)"/>
/// subscribes at once, as asyncio's <c>start_server</c> serves at once.
/// </para>
/// <para>
/// A subscriber owns the connections it receives and must dispose them. If its <c>OnNext</c> throws, that connection
/// is aborted, the error goes to <see cref="Errors"/>, and accepting goes on. When the server closes, subscribers get
/// <c>OnCompleted</c>.
/// </para>
/// <para>
/// <b>Closing.</b> <see cref="Close"/> stops listening at once and leaves accepted connections alone (as asyncio);
/// <see cref="WaitClosedAsync"/> completes when the server is closed and every connection it accepted has closed;
/// <see cref="DisposeAsync"/> is both. <see cref="ShutdownAsync"/> adds a deadline after which connections are aborted.
/// </para>
/// </remarks>
public sealed class StreamServer : IObservable<StreamConnection>, IAsyncDisposable, IConnectionOwner
{
    private readonly Socket[] _listeners;
    private readonly ServerOptions _options;
    private readonly ConnectionList _connections = new();
    private readonly ConcurrentDictionary<AcceptSubscription, byte> _subscriptions = new();
    private readonly ISubject<Exception> _errors = Subject.Synchronize(new Subject<Exception>());
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _isClosed;

    internal StreamServer(Socket[] listeners, ServerOptions options)
    {
        _listeners = listeners;
        _options = options;
        EndPoints = Array.AsReadOnly(listeners.Select(static l => l.LocalEndPoint!).ToArray());
    }

    /// <summary>The bound endpoints, one per listening socket (with port 0, each has its own port). Kept after <see cref="Close"/>.</summary>
    public IReadOnlyList<EndPoint> EndPoints { get; }

    /// <summary>asyncio's <c>sockets</c>: the listening sockets; empty after <see cref="Close"/>.</summary>
    public IReadOnlyList<Socket> Sockets => IsServing ? _listeners : [];

    /// <summary>asyncio's <c>is_serving()</c>: true until <see cref="Close"/>.</summary>
    public bool IsServing => Volatile.Read(ref _isClosed) == 0;

    /// <summary>The connections accepted and not yet closed.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// Errors that ended a connection because of its handler or subscriber (asyncio reports them to the loop's exception
    /// handler), and accept errors the server survived. Hot: errors with no subscriber are dropped.
    /// </summary>
    public IObservable<Exception> Errors => _errors;

    /// <summary>Accepts connections for <paramref name="observer"/> until it unsubscribes or the server closes.</summary>
    /// <param name="observer">Receives each connection it accepts; it owns them.</param>
    /// <returns>Disposing stops this subscriber's accepting.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="observer"/> is <see langword="null"/>.</exception>
    public IDisposable Subscribe(IObserver<StreamConnection> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (!IsServing)
        {
            observer.OnCompleted();
            return Disposable.Empty;
        }

        var subscription = new AcceptSubscription(this, observer);
        _subscriptions.TryAdd(subscription, 0);
        if (!IsServing)
        {
            subscription.Complete();
            return subscription;
        }

        foreach (var listener in _listeners)
        {
            _ = AcceptLoopAsync(listener, subscription);
        }

        return subscription;
    }

    /// <summary>
    /// asyncio's <c>close()</c>: stops listening at once and completes every subscriber. Connections already accepted
    /// stay open. Idempotent.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _isClosed, 1) != 0)
        {
            return;
        }

        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        foreach (var subscription in _subscriptions.Keys)
        {
            subscription.Complete();
        }

        _closed.TrySetResult();
        CompleteIfIdle();
    }

    /// <summary>
    /// asyncio's <c>wait_closed()</c> (3.12.1+): completes when the server is closed and every connection it accepted
    /// has closed. Called before <see cref="Close"/>, it waits for the close.
    /// </summary>
    /// <param name="cancellationToken">Cancels this wait only.</param>
    /// <returns>A task that completes then.</returns>
    public Task WaitClosedAsync(CancellationToken cancellationToken = default) => _allClosed.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// asyncio's <c>serve_forever()</c>: completes when the server is closed. Cancelling the token closes the server
    /// (stops listening, leaves connections alone) and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>A task that completes when the server closes.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task ServeForeverAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Close();
            throw;
        }
    }

    /// <summary>asyncio's <c>close_clients()</c>: closes every accepted connection gracefully (buffered data is sent first).</summary>
    public void CloseClients()
    {
        foreach (var connection in _connections.Snapshot())
        {
            connection.Writer.Close();
        }
    }

    /// <summary>asyncio's <c>abort_clients()</c>: resets every accepted connection at once.</summary>
    public void AbortClients()
    {
        foreach (var connection in _connections.Snapshot())
        {
            connection.Abort();
        }
    }

    /// <summary>
    /// Stops listening, closes every connection gracefully, waits up to <paramref name="gracePeriod"/> for them, then
    /// aborts the rest; completes when all are closed.
    /// </summary>
    /// <param name="gracePeriod">How long connections get to finish.</param>
    /// <param name="cancellationToken">Skips the rest of the grace period (connections are aborted at once).</param>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async Task ShutdownAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        Close();
        CloseClients();
        var graceOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (_options.Scheduler.Schedule(graceOver, gracePeriod, static (_, tcs) =>
               {
                   tcs.TrySetResult();
                   return Disposable.Empty;
               }))
        using (cancellationToken.Register(static tcs => ((TaskCompletionSource)tcs!).TrySetResult(), graceOver))
        {
            await Task.WhenAny(_allClosed.Task, graceOver.Task).ConfigureAwait(false);
        }

        AbortClients();
        await _allClosed.Task.ConfigureAwait(false);
    }

    /// <summary>asyncio's <c>async with server</c> exit: <see cref="Close"/>, then <see cref="WaitClosedAsync"/>.</summary>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        Close();
        await _allClosed.Task.ConfigureAwait(false);
    }

    internal void ReportError(Exception error) => _errors.OnNext(error);

    private async Task AcceptLoopAsync(Socket listener, AcceptSubscription subscription)
    {
        var token = subscription.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException || !IsServing)
            {
                return;
            }
            catch (SocketException error)
            {
                // A client that gave up before we accepted it, or a transient shortage (EMFILE): keep serving.
                ReportError(error);
                await Task.Yield();
                continue;
            }

            var connection = Adopt(socket);
            if (!subscription.Deliver(connection))
            {
                connection.Abort();
            }
        }
    }

    private StreamConnection Adopt(Socket socket)
    {
        socket.NoDelay = _options.NoDelay;
        var transport = new SocketTransport(socket);
        var connection = new StreamConnection(transport, _options);
        _connections.Add(connection);
        transport.Owner = this;
        transport.Connection = connection;
        if (transport.IsClosed)
        {
            OnClosed(connection); // closed before we were listening for it
        }

        return connection;
    }

    void IConnectionOwner.OnClosed(StreamConnection connection) => OnClosed(connection);

    void IConnectionOwner.ReportError(Exception error) => ReportError(error);

    private void OnClosed(StreamConnection connection)
    {
        if (_connections.Remove(connection))
        {
            CompleteIfIdle();
        }
    }

    private void CompleteIfIdle()
    {
        if (!IsServing && _connections.Count == 0)
        {
            _allClosed.TrySetResult();
        }
    }

    /// <summary>One subscriber: its accept loops share a lock so that <c>OnNext</c> calls never overlap (Rx grammar).</summary>
    private sealed class AcceptSubscription(StreamServer server, IObserver<StreamConnection> observer) : IDisposable
    {
        private readonly CancellationTokenSource _cancellation = new();
        private readonly Lock _gate = new();
        private bool _done;

        public CancellationToken Token => _cancellation.Token;

        public bool Deliver(StreamConnection connection)
        {
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
                catch (Exception error)
                {
                    connection.Transport.Fail(error);
                    server.ReportError(error);
                }

                return true;
            }
        }

        public void Complete()
        {
            lock (_gate)
            {
                if (_done)
                {
                    return;
                }

                _done = true;
            }

            _cancellation.Cancel();
            server._subscriptions.TryRemove(this, out _);
            observer.OnCompleted();
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _done = true;
            }

            _cancellation.Cancel();
            server._subscriptions.TryRemove(this, out _);
        }
    }
}
