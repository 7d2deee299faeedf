using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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
/// The states (bound, serving, closed) and what each call does in each are tabled in docs/contract.md ("The server").
/// </para>
/// <para>
/// <b>A connection cap.</b> With <see cref="ServerOptions.MaxConnections"/>, each accept loop waits for a free slot before
/// it accepts, so at the cap new clients wait in the OS backlog until a connection closes.
/// </para>
/// <para>
/// <b>Losing a listening socket.</b> An accept that fails because the listening socket itself is gone (disposed, shut
/// down, no longer listening) is not retried, since every retry would fail at once and spin a core. That socket's
/// accept loops end, the loss is reported once on <see cref="Errors"/> as an <see cref="IOException"/>, and the other
/// listening sockets go on. When every listening socket is lost, the server closes itself: subscribers get that
/// <see cref="IOException"/> as <c>OnError</c> (not <c>OnCompleted</c>), <see cref="ServeForeverAsync"/> throws it, and
/// <see cref="WaitClosedAsync"/> completes once the accepted connections, which are never touched, have closed. Failures
/// of one incoming connection (a client that reset before the accept, a transient shortage such as EMFILE) are
/// reported and survived. Both decisions: docs/adr/0014-listener-loss-and-connection-cap.md.
/// </para>
/// </remarks>
public sealed partial class StreamServer : IObservable<StreamConnection>, IAsyncDisposable, IConnectionOwner
{
    private readonly Listener[] _listeners;
    private readonly ServerOptions _options;
    private readonly ConnectionSetupStep[] _setupSteps;
    private readonly ILogger _logger;
    private readonly ConnectionList _connections = new();
    private readonly ConcurrentDictionary<AcceptSubscription, byte> _subscriptions = new();
    private readonly ISubject<Exception> _errors = Subject.Synchronize(new Subject<Exception>());
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _servingForever; // 1 while a ServeForeverAsync call waits (asyncio allows one at a time)
    private int _state; // Bound → Serving → Closed
    private const int Bound = 0, Serving = 1, Closed = 2;

    internal StreamServer(Listener[] listeners, ServerOptions options)
    {
        _listeners = listeners;
        _options = options;
        _setupSteps = ConnectionSetup.StepsFor(options);
        _logger = options.LoggerFactory?.CreateLogger(Log.ServerCategory) ?? NullLogger.Instance;
        _connectionCap = (options.MaxConnections ?? ServerOptions.DefaultMaxConnections) is { } cap and < int.MaxValue ? cap : null;
        EndPoints = Array.AsReadOnly(listeners.Select(static l => l.EndPoint).ToArray());
    }

    /// <summary>The bound endpoints, one per listening socket (with port 0, each has its own port). Kept after <see cref="Close"/>.</summary>
    public IReadOnlyList<EndPoint> EndPoints { get; }

    /// <summary>asyncio's <c>sockets</c>: the server's sockets; empty after <see cref="Close"/>.</summary>
    public IReadOnlyList<Socket> Sockets => IsClosed ? [] : _listeners.Select(static l => l.Socket).ToArray();

    /// <summary>
    /// asyncio's <c>is_serving()</c>: true while listening: from the start (or from <see cref="StartServing"/> when
    /// <see cref="ServerOptions.StartServing"/> is false) until <see cref="Close"/>.
    /// </summary>
    public bool IsServing => Volatile.Read(ref _state) == Serving;

    private bool IsClosed => Volatile.Read(ref _state) == Closed;

    /// <summary>The connections accepted and not yet closed.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// Errors that ended a connection because of its handler or subscriber (asyncio reports them to the loop's exception
    /// handler), including an error raised in a subscriber's Rx chain (a throwing <c>Select</c> before
    /// <c>Subscribe(connection.Writer)</c>, a second subscription to a reader), and accept errors the server survived.
    /// Each is also logged with the connection's endpoint (<see cref="ConnectionOptions.LoggerFactory"/>). Hot: errors with
    /// no subscriber are dropped.
    /// </summary>
    public IObservable<Exception> Errors => _errors;

    /// <summary>Accepts connections for <paramref name="observer"/> until it unsubscribes or the server closes.</summary>
    /// <param name="observer">Receives each connection it accepts; it owns them.</param>
    /// <returns>Disposing stops this subscriber's accepting.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="observer"/> is <see langword="null"/>.</exception>
    public IDisposable Subscribe(IObserver<StreamConnection> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (IsClosed)
        {
            observer.OnCompleted();
            return Disposable.Empty;
        }

        var subscription = new AcceptSubscription(this, observer);
        _subscriptions.TryAdd(subscription, 0);
        if (IsClosed)
        {
            subscription.Complete();
        }
        else if (IsServing)
        {
            subscription.Start();
        }

        return subscription;
    }

    /// <summary>
    /// asyncio's <c>start_serving()</c>: starts listening (for a server created with
    /// <see cref="ServerOptions.StartServing"/> false) and accepting for every subscriber. Idempotent.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is closed.</exception>
    public void StartServing()
    {
        lock (_listeners)
        {
            if (IsClosed)
            {
                throw new InvalidOperationException("The server is closed.");
            }

            if (IsServing)
            {
                return;
            }

            foreach (var listener in _listeners)
            {
                listener.Listen(_options.Backlog);
            }

            Volatile.Write(ref _state, Serving);
        }

        if (_logger.IsEnabled(LogLevel.Information))
        {
            Log.Serving(_logger, DescribeEndPoints());
        }

        foreach (var subscription in _subscriptions.Keys)
        {
            subscription.Start();
        }
    }

    /// <summary>
    /// asyncio's <c>client_connected_cb</c>: runs <paramref name="handler"/> for every connection this server accepts, on
    /// the thread pool. When the handler's task completes, the connection is closed gracefully (deterministically; in
    /// asyncio it depends on garbage collection); so it is when the handler is cancelled (throws
    /// <see cref="OperationCanceledException"/>, as asyncio 3.13 closes a cancelled handler's transport and reports
    /// nothing); when it throws anything else, the connection is aborted and the exception goes to <see cref="Errors"/>.
    /// The server is never affected.
    /// </summary>
    /// <param name="handler">Handles one connection.</param>
    /// <returns>Disposing stops accepting for this handler (connections already handed over go on).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    public IDisposable Serve(Func<ConnectionReader, ConnectionWriter, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Subscribe(new HandlerObserver(this, handler));
    }

    /// <summary>
    /// asyncio's <c>close()</c>: stops listening at once and completes every subscriber. Connections already accepted
    /// stay open. Idempotent.
    /// </summary>
    public void Close() => CloseWith(failure: null);

    /// <summary>Closes; with <paramref name="failure"/> (every listening socket was lost), subscribers get it as <c>OnError</c>.</summary>
    private void CloseWith(Exception? failure)
    {
        lock (_listeners)
        {
            if (IsClosed)
            {
                return;
            }

            Volatile.Write(ref _state, Closed);
        }

        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        foreach (var subscription in _subscriptions.Keys)
        {
            subscription.Complete(failure);
        }

        LogSuppressedConnectionFailures();
        if (_logger.IsEnabled(LogLevel.Information))
        {
            Log.Closed(_logger, DescribeEndPoints());
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
    public Task WaitClosedAsync(CancellationToken cancellationToken = default) => WhenAllClosedAsync().WaitAsync(cancellationToken);

    /// <summary>Every accepted connection closed and every accept loop ended (so none outlives the server unobserved).</summary>
    private async Task WhenAllClosedAsync()
    {
        await _allClosed.Task.ConfigureAwait(false);
        await WhenAcceptLoopsEndedAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// asyncio's <c>serve_forever()</c>: starts serving if needed and completes when the server is closed. Cancelling the token closes the server
    /// (stops listening, leaves connections alone) and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>A task that completes when the server closes.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException">The server is already closed, or another <see cref="ServeForeverAsync"/>
    /// call is still waiting on it (asyncio's RuntimeError "server is already being awaited on serve_forever()").</exception>
    /// <exception cref="IOException">Every listening socket was closed or failed under the server (see <see cref="Errors"/>).</exception>
    public async Task ServeForeverAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _servingForever, 1) != 0)
        {
            throw new InvalidOperationException($"The server on {DescribeEndPoints()} is already being awaited on ServeForeverAsync().");
        }

        try
        {
            StartServing();
            await _closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            ThrowIfListenersLost();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Close();
            throw;
        }
        finally
        {
            Volatile.Write(ref _servingForever, 0);
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
    /// A shutdown with a deadline: stops listening, signals every connection that close is requested
    /// (<see cref="StreamConnection.CloseRequested"/>, so handlers can finish their current exchange and close), waits up
    /// to <paramref name="gracePeriod"/> for them, then aborts the rest; completes when all are closed. asyncio's
    /// <c>wait_closed()</c> would wait forever for an idle client; this does not.
    /// </summary>
    /// <param name="gracePeriod">How long connections get to finish.</param>
    /// <param name="cancellationToken">Skips the rest of the grace period (connections are aborted at once).</param>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async Task ShutdownAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        Close();
        foreach (var connection in _connections.Snapshot())
        {
            connection.Core.RequestClose();
        }

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
        await WhenAllClosedAsync().ConfigureAwait(false);
    }

    /// <summary>asyncio's <c>async with server</c> exit: <see cref="Close"/>, then <see cref="WaitClosedAsync"/>.</summary>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        Close();
        await WhenAllClosedAsync().ConfigureAwait(false);
    }

    private void OnAcceptError(Exception error)
    {
        // Reporting must not end the accept loop that reports: a logger or meter listener that throws is ignored here.
        try
        {
            Metrics.AcceptError(error);
            Log.AcceptFailed(_logger, error);
        }
        catch (Exception)
        {
            // Nowhere left to report to; the loop goes on.
        }

        ReportError(error);
    }

    private void OnSetupError(StreamConnection connection, Exception error)
    {
        LogConnectionFailure(duringSetup: true, connection.RemoteEndPoint, error);
        ReportError(error);
    }

    private void OnHandlerError(EndPoint? remoteEndPoint, Exception error)
    {
        LogConnectionFailure(duringSetup: false, remoteEndPoint, error);
        ReportError(error);
    }

    private string DescribeEndPoints() => string.Join(", ", EndPoints);

    internal void ReportError(Exception error)
    {
        try
        {
            _errors.OnNext(error);
        }
        catch (Exception observerError)
        {
            // An Errors subscriber that throws must not take an accept loop or a connection's read loop down with it,
            // and neither may the trace that reports it (a listener that fails, as when descriptors run out).
            try
            {
                System.Diagnostics.Trace.TraceError($"RxStreams: a StreamServer.Errors subscriber threw: {observerError}");
            }
            catch (Exception)
            {
                // Nowhere left to report to.
            }
        }
    }

    private async Task AcceptLoopAsync(Listener listener, AcceptSubscription subscription)
    {
        var token = subscription.Token;
        var backoff = new AcceptBackoff();
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                await WaitForConnectionSlotAsync(token).ConfigureAwait(false);
                socket = await listener.Socket.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception) when (IsClosed || token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (IsListenerGone(error))
            {
                OnListenerLost(listener, error); // closed or shut down under us: retrying would spin
                return;
            }
            catch (SocketException error) when (AcceptBackoff.IsShortage(error))
            {
                // Out of descriptors (EMFILE, ENFILE) or buffers: retrying at once would spin and log without end.
                if (!await BackOffAsync(listener, backoff, error, token).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }
            catch (SocketException error)
            {
                // A client that gave up before we accepted it: keep serving.
                OnAcceptError(error);
                await Task.Yield();
                continue;
            }

            OnAccepted(listener, backoff);
            try
            {
                AdoptAndDeliver(socket, listener, subscription);
            }
            catch (Exception error)
            {
                // A logger or subscriber that threw while this connection's failure was reported (the connection was
                // failed already): the loop goes on.
                OnAcceptError(error);
            }
        }
    }

    private void AdoptAndDeliver(Socket socket, Listener listener, AcceptSubscription subscription)
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
            OnAcceptError(error);
            return;
        }

        if (_setupSteps.Length == 0)
        {
            DeliverOrAbort(connection, subscription);
        }
        else
        {
            _ = SetUpThenDeliverAsync(connection, subscription);
        }
    }

    private static void DeliverOrAbort(StreamConnection connection, AcceptSubscription subscription)
    {
        Tracing.Delivered(connection);
        if (!subscription.Deliver(connection))
        {
            connection.Abort();
        }
    }

    private async Task SetUpThenDeliverAsync(StreamConnection connection, AcceptSubscription subscription)
    {
        try
        {
            foreach (var step in _setupSteps)
            {
                await step(connection, subscription.Token).ConfigureAwait(false);
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

        DeliverOrAbort(connection, subscription);
    }

    private StreamConnection Adopt(Socket socket, bool isTcp)
    {
        if (isTcp)
        {
            socket.NoDelay = _options.NoDelay; // keep-alive is inherited from the listening socket
        }

        // Tracked before it starts: nothing can close it until then, so its OnClosed always finds it in the list.
        var connection = new StreamConnection(new SocketChannel(socket), _options, owner: this);
        _connections.Add(connection);
        connection.Start();
        Tracing.Accepted(connection);
        return connection;
    }

    void IConnectionOwner.OnClosed(StreamConnection connection) => OnClosed(connection);

    void IConnectionOwner.ReportError(StreamConnection? connection, Exception error) => OnHandlerError(connection?.RemoteEndPoint, error);

    private void OnClosed(StreamConnection connection)
    {
        if (_connections.Remove(connection))
        {
            OnConnectionSlotFreed();
            CompleteIfIdle();
        }
    }

    private void CompleteIfIdle()
    {
        if (IsClosed && _connections.Count == 0)
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
        private int _started;

        public CancellationToken Token => _cancellation.Token;

        /// <summary>Starts one accept loop per listening socket (once; servers not yet serving start them later).</summary>
        public void Start()
        {
            if (Interlocked.Exchange(ref _started, 1) == 0)
            {
                foreach (var listener in server._listeners)
                {
                    server.StartAcceptLoop(listener, this);
                }
            }
        }

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
                    connection.Core.Fail(error);
                    server.OnHandlerError(connection.RemoteEndPoint, error);
                }

                return true;
            }
        }

        public void Complete(Exception? failure = null)
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
            if (failure is null)
            {
                observer.OnCompleted();
            }
            else
            {
                observer.OnError(failure);
            }
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

    /// <summary>Runs the asyncio-style callback for each accepted connection and ties the connection's life to it.</summary>
    private sealed class HandlerObserver(StreamServer server, Func<ConnectionReader, ConnectionWriter, Task> handler) : IObserver<StreamConnection>
    {
        public void OnNext(StreamConnection value) => _ = RunAsync(value);

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }

        private async Task RunAsync(StreamConnection connection)
        {
            await Task.Yield(); // off the accept loop: a handler's synchronous start must not delay accepting
            try
            {
                await handler(connection.Reader, connection.Writer).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // A cancelled handler (close was requested, or its own token fired) is a normal end: asyncio 3.13 closes a
                // cancelled handler's transport gracefully and reports nothing (test_unhandled_cancel).
            }
            catch (Exception error)
            {
                connection.Core.Fail(error);
                server.OnHandlerError(connection.RemoteEndPoint, error);
                return;
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
