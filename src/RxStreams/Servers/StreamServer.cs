using System.Net;
using System.Net.Sockets;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RxStreams.Internal;
using RxStreams.Internal.Servers;

namespace RxStreams;

/// <summary>
/// A listening server: asyncio's <c>Server</c>, and an <see cref="IObservable{T}"/> of the connections it accepts.
/// </summary>
/// <remarks>
/// <para>
/// <b>A hot, multicast observable.</b> Every subscriber sees every connection accepted while it is subscribed, as with
/// any Rx subject: a logging or metrics subscriber beside the one that serves does not take connections away from it.
/// Accepting runs while at least one subscriber is registered (one accept loop per listening socket, whatever the
/// number of subscribers); while nobody subscribes, nothing is accepted and connections wait in the OS backlog
/// (<see cref="ServerOptions.Backlog"/>). The callback form of
/// <see cref="Streams.StartServerAsync(Func{ConnectionReader, ConnectionWriter, Task}, string?, int, ServerOptions?, CancellationToken)"/>
/// subscribes at once, as asyncio's <c>start_server</c> serves at once. The server does not split connections between
/// subscribers: to spread work, dispatch inside one subscriber, or run several servers on one port with
/// <see cref="ServerOptions.ReusePort"/>.
/// </para>
/// <para>
/// <b>One consumer per connection.</b> Subscribers share each connection, but its bytes are still read once: only one
/// of them may subscribe to its <see cref="StreamConnection.Reader"/> or pull from it; another that tries gets
/// <see cref="InvalidOperationException"/> (as <c>OnError</c>, reported on <see cref="Errors"/>). Side subscribers such as
/// loggers must look at the connection (its endpoints, <see cref="StreamConnection.Closed"/>) and never consume its bytes
/// or write to it. Whichever subscriber closes or disposes the connection closes it for all.
/// </para>
/// <para>
/// <b>Who closes a connection.</b> The subscriber that reads it (a <see cref="Serve"/> handler closes it when the handler
/// ends). A connection that no subscriber closes stays open, as in asyncio, until the peer closes it, a timeout of
/// <see cref="ConnectionOptions.IdleTimeout"/> ends it, or <see cref="CloseClients"/>, <see cref="AbortClients"/> or
/// <see cref="ShutdownAsync"/> ends it; the server counts it in <see cref="ConnectionCount"/> until then and
/// <see cref="WaitClosedAsync"/> waits for it. <see cref="Close"/> does not close it: a handler starts off the accept
/// loop, so closing connections nobody has read yet would race with handlers about to read them. A connection whose
/// subscribers all left between its accept and its delivery is aborted, so none stays open without having been seen.
/// If a subscriber's <c>OnNext</c> throws, the connection is aborted once every subscriber has had it, the error goes
/// to <see cref="Errors"/>, and accepting goes on. When the server closes, subscribers get <c>OnCompleted</c>.
/// </para>
/// <para>
/// <b>Closing.</b> <see cref="Close"/> stops listening at once and leaves accepted connections alone (as asyncio);
/// <see cref="WaitClosedAsync"/> completes when the server is closed and every connection it accepted has closed;
/// <see cref="DisposeAsync"/> is both. <see cref="ShutdownAsync"/> adds a deadline after which connections are aborted.
/// The states (bound, serving, closed) and what each call does in each are tabled in docs/contract.md ("The server").
/// </para>
/// <para>
/// <b>A connection cap.</b> With <see cref="ServerOptions.MaxConnections"/>, the accept loops wait for a free slot before
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
    private readonly ConnectionPolicy? _policy; // per-client limits and the connection-age limit (ServerOptions)
    private readonly ILogger _logger;
    private readonly ConnectionList _connections = new();
    private readonly SubscriberList _subscribers = new();
    private readonly CancellationTokenSource _closing = new(); // cancelled by Close: ends the accept loops and pending set-ups
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
        _policy = ConnectionPolicy.For(options);
        _setupSteps = ConnectionSetup.StepsFor(options, _policy is null ? null : _policy.AdmitAsync);
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

    /// <summary>
    /// Shows <paramref name="observer"/> every connection accepted from now until it unsubscribes or the server closes;
    /// while it is subscribed, the server accepts (it shares the connections with the other subscribers).
    /// </summary>
    /// <param name="observer">Receives each connection; it may read it only if no other subscriber does.</param>
    /// <returns>Disposing unsubscribes; when the last subscriber leaves, accepting pauses.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="observer"/> is <see langword="null"/>.</exception>
    public IDisposable Subscribe(IObserver<StreamConnection> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (IsClosed)
        {
            observer.OnCompleted();
            return Disposable.Empty;
        }

        var subscription = new ServerSubscription(_subscribers, observer);
        if (!_subscribers.TryAdd(subscription))
        {
            observer.OnCompleted(); // closed meanwhile
            return Disposable.Empty;
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

        foreach (var listener in _listeners)
        {
            StartAcceptLoop(listener);
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
    /// <returns>Disposing unsubscribes the handler (connections already handed over go on).</returns>
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

        _closing.Cancel();
        _policy?.Dispose();
        foreach (var subscription in _subscribers.Close())
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

    private void OnAcceptError(Exception error, Listener listener)
    {
        // Reporting must not end the accept loop that reports: a logger or meter listener that throws is ignored here.
        try
        {
            Metrics.AcceptError(error, listener);
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

    internal void OnHandlerError(EndPoint? remoteEndPoint, Exception error)
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

    private StreamConnection Adopt(Socket socket, bool isTcp)
    {
        if (isTcp)
        {
            socket.NoDelay = _options.NoDelay; // keep-alive is inherited from the listening socket
        }

        // Tracked before it starts: nothing can close it until then, so its OnClosed always finds it in the list.
        var connection = new StreamConnection(SocketChannel.Create(socket, _options), _options, owner: this);
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
}
