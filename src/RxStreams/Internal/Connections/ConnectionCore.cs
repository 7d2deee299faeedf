using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// One connection's lifetime over its byte channel: open → closed, the half-close bookkeeping, the error that ended it,
/// the close request, the owner's callbacks and the metrics. Every byte goes through the current
/// <see cref="IByteChannel"/> (a socket, TLS over another channel, an in-memory pair); the core never knows which.
/// </summary>
/// <remarks>
/// <para>Lifetime states (one-way):</para>
/// <code>
/// Open ──Close()────────────► Closed   graceful: the writer has flushed; FIN sent; wait_closed completes once released
///   │ ──both directions done─► Closed   peer EOF seen by the reader and our write side shut down
///   │ ──Abort()─────────────► Closed   RST; buffered data discarded; wait_closed completes
///   └ ──Fail(error)─────────► Closed   I/O error or handler fault; wait_closed and drain raise the error
/// </code>
/// <para>
/// A graceful close over a socket lingers (<see cref="LingeringClose"/>, ADR 0011), whatever channel runs over the socket
/// (TLS included): the connection is closed at once, as in asyncio (<see cref="Closed"/> completes, writes are refused,
/// the reader is at EOF, its owner forgets it), but the channel stays open in the background, reading and discarding
/// input until the peer's EOF, so unread input never turns the close into a reset. A bound running out sets
/// <see cref="TerminalError"/> afterwards. A channel without a socket (in memory) has no kernel buffer whose reset could
/// destroy what the peer has not read, so it is released at once.
/// </para>
/// <para>
/// <b>Errors are sorted here, once.</b> A channel raises whatever its medium raised; a receive that fails because we
/// closed the channel ourselves is the end of the input, not an error (Kestrel's "connection abort" rule), so a local
/// close looks like EOF to the reader, as in asyncio. Anything else fails the connection, and the first error wins.
/// </para>
/// <para>
/// <b>Wiring.</b> Built by its <see cref="StreamConnection"/>'s constructor, which it tells when it closes (the writer's
/// waiters are released, the watchdog stops); nothing is set afterwards. The channel is replaced only by a TLS upgrade,
/// while the upgrade holds both the reader and the writer (<see cref="ReplaceChannel"/>).
/// </para>
/// </remarks>
internal sealed class ConnectionCore : ByteSource
{
    private readonly StreamConnection _connection;
    private readonly IConnectionOwner? _owner;
    private IByteChannel _channel;
    private ProxyProtocolHeader? _proxyHeader;
    private LazyCompletion _closed; // its task is created only when someone waits: an idle connection should be small
    private Exception? _terminalError;
    private Exception? _waitError; // a zero-byte wait failed: a socket will not report it again
    private int _closedFlag;
    private volatile bool _closing;
    private int _directionsDone; // InputEndedBit | OutputShutdownBit, set with Interlocked.Or so both sides see each other
    private const int InputEndedBit = 1, OutputShutdownBit = 2;
    private CancellationTokenSource? _closeRequested;
    private int _closeRequestedFlag;
    private long _openedAt; // for the connection-duration metric
    private KeyValuePair<string, object?>[]? _metricTags; // shared (MetricTags); null when nobody counted the open
    private int _started;
    private int _readerWaiting; // a wait was started and no receive followed yet: the reader waits on the channel

    public ConnectionCore(IByteChannel channel, StreamConnection connection, IConnectionOwner? owner)
    {
        _channel = channel;
        _connection = connection;
        _owner = owner;
    }

    /// <summary>The connection this core is the lifetime of (what its owner knows it by; STARTTLS reaches the reader through it).</summary>
    public StreamConnection Connection => _connection;

    /// <summary>The channel every byte goes through now.</summary>
    public IByteChannel Channel => _channel;

    /// <summary>Who is at each end (the channel's endpoints and the PROXY header); a fresh value on each call.</summary>
    public ConnectionIdentity Identity => new(_channel.LocalEndPoint, _channel.RemoteEndPoint, Volatile.Read(ref _proxyHeader));

    /// <summary>asyncio's <c>is_closing()</c>: close requested, aborted or failed.</summary>
    public bool IsClosing => _closing || IsClosed;

    /// <summary>Whether the connection is closed (after a graceful close its channel may still linger in the background).</summary>
    public bool IsClosed => Volatile.Read(ref _closedFlag) != 0;

    /// <summary>The error that ended the connection, if one did.</summary>
    public Exception? TerminalError => Volatile.Read(ref _terminalError);

    /// <summary>Completes (never faults) once the connection is closed, whatever the reason (a lingering channel does not hold it back).</summary>
    public Task Closed => _closed.Task;

    /// <summary>
    /// Whether the end of the input has been seen, or the connection was closed or aborted locally without an error (a
    /// local close is the end of the input, as asyncio's <c>connection_lost(None)</c> feeds EOF: <c>at_eof()</c> is then
    /// true once the buffer is read, bpo-35065). A connection that failed is not at EOF: its reads raise the error.
    /// </summary>
    public override bool InputEnded =>
        (Volatile.Read(ref _directionsDone) & InputEndedBit) != 0 || (IsClosed && TerminalError is null);

    /// <summary>Completes when the connection closes; the reader's loop also stops waiting on other writers then.</summary>
    public override Task? Stopped => Closed;

    /// <summary>The error that ended the connection: the reader raises it once its buffered bytes are read.</summary>
    public override Exception? PendingError => TerminalError;

    /// <summary>Bytes from a channel are network input (counted in the metrics).</summary>
    public override bool IsNetworkInput => true;

    /// <summary>Signalled when the owner asks the connection to finish (a server shutting down); created on first use.</summary>
    public CancellationToken CloseRequested
    {
        get
        {
            var source = Volatile.Read(ref _closeRequested);
            if (source is null)
            {
                var created = new CancellationTokenSource();
                source = Interlocked.CompareExchange(ref _closeRequested, created, null) ?? created;
                if (Volatile.Read(ref _closeRequestedFlag) != 0)
                {
                    source.Cancel();
                }
            }

            return source.Token;
        }
    }

    /// <summary>Counts the connection as open in the metrics; its close is counted when it closes.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _metricTags = Metrics.ConnectionTags(_channel, _connection.Options is ServerOptions);
            _openedAt = Metrics.ConnectionOpened(_metricTags);
        }
    }

    /// <summary>Records the PROXY protocol header the server read before delivering the connection (once).</summary>
    public void AttachProxyHeader(ProxyProtocolHeader header)
    {
        if (Interlocked.CompareExchange(ref _proxyHeader, header, null) is not null)
        {
            throw new InvalidOperationException("The connection already has a PROXY protocol header.");
        }
    }

    /// <summary>
    /// Moves the connection onto <paramref name="channel"/> (TLS over the current one). Only while the reader and the
    /// writer are held by a TLS upgrade, so no receive or send is in flight and no byte crosses over.
    /// </summary>
    public void ReplaceChannel(IByteChannel channel) => Volatile.Write(ref _channel, channel);

    public override int TryReceive(ref ReadBuffer buffer, ReceiveStrategy strategy)
    {
        if (InputEnded)
        {
            return 0;
        }

        if (IsClosed)
        {
            return EndOfInputOrThrow(null); // failed: the channel is gone, its error is the answer
        }

        if (Interlocked.Exchange(ref _waitError, null) is { } waitError && waitError is not OperationCanceledException)
        {
            return EndOfInputOrThrow(waitError);
        }

        if (_readerWaiting != 0)
        {
            _readerWaiting = 0;
        }

        int received;
        try
        {
            received = _channel.TryReceive(ref buffer, strategy);
        }
        catch (Exception error)
        {
            return EndOfInputOrThrow(error);
        }

        if (received == 0)
        {
            MarkInputEnded();
        }

        return received;
    }

    public override ValueTask<int> WaitAsync(CancellationToken cancellationToken) => Wait(inline: false, cancellationToken);

    public override ValueTask<int> WaitInlineAsync(CancellationToken cancellationToken) => Wait(inline: true, cancellationToken);

    private ValueTask<int> Wait(bool inline, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _readerWaiting, 1); // a full fence: a close racing this wait sees it, or we see the close
        if (IsClosed)
        {
            return new ValueTask<int>(0); // closed: the next TryReceive reports the end; no wait on a lingering channel
        }

        return inline ? _channel.WaitInlineAsync(cancellationToken) : _channel.WaitAsync(cancellationToken);
    }

    public override void OnWaitFailed(Exception error) => Volatile.Write(ref _waitError, error);

    /// <summary>A subscriber threw: the connection is aborted with that error (never the server).</summary>
    public override void OnConsumerFault(Exception error)
    {
        Fail(error);
        _owner?.ReportError(_connection, error);
    }

    /// <summary>Sends every segment, in order, reporting progress to <paramref name="progress"/> as bytes leave.</summary>
    public ValueTask SendAsync(SendBatch batch, ISendProgress progress) => _channel.SendAsync(batch, progress);

    /// <summary>Shuts the write direction down (FIN); called by the writer once everything buffered is sent.</summary>
    public void ShutdownSend()
    {
        if (IsClosed)
        {
            return;
        }

        Task done;
        try
        {
            done = _channel.ShutdownSendAsync();
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException or IOException)
        {
            Fail(Classify(error));
            return;
        }

        if (!done.IsCompletedSuccessfully)
        {
            // TLS sends close_notify in the background: its failure is the connection's, unless it closed meanwhile.
            done.ContinueWith(
                static (shutdown, state) =>
                {
                    var core = (ConnectionCore)state!;
                    if (shutdown.Exception?.InnerException is { } error && !core.IsClosed)
                    {
                        core.Fail(Classify(error));
                    }
                },
                this,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        if ((Interlocked.Or(ref _directionsDone, OutputShutdownBit) & InputEndedBit) != 0)
        {
            Close(); // the peer's EOF came first: both directions are done
        }
    }

    /// <summary>Records that the reader saw the end of the input; closes the connection when our side is done too.</summary>
    public void MarkInputEnded()
    {
        if ((Interlocked.Or(ref _directionsDone, InputEndedBit) & OutputShutdownBit) != 0)
        {
            Close(); // our side was already shut down: both directions are done
        }
    }

    /// <summary>Asks whoever handles the connection to finish and close it (does not close anything itself).</summary>
    public void RequestClose()
    {
        if (Interlocked.Exchange(ref _closeRequestedFlag, 1) == 0)
        {
            Volatile.Read(ref _closeRequested)?.Cancel();
        }
    }

    /// <summary>Marks the connection as closing (asyncio's <c>is_closing()</c> turns true before the flush ends).</summary>
    public void MarkClosing() => _closing = true;

    /// <summary>Releases the channel gracefully; the writer calls it once its buffer is flushed.</summary>
    public void Close() => Terminate(abort: false, error: null);

    /// <summary>Resets the connection (RST) and discards what is buffered.</summary>
    public void Abort() => Terminate(abort: true, error: null);

    /// <summary>Ends the connection with <paramref name="error"/>; the first error wins.</summary>
    public void Fail(Exception error) => Terminate(abort: true, error);

    /// <summary>asyncio's <c>wait_closed()</c>: completes once closed; raises the error that ended the connection, if any.</summary>
    public async Task WaitClosedAsync(CancellationToken cancellationToken)
    {
        await Closed.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (TerminalError is { } error)
        {
            throw error;
        }
    }

    /// <summary>What a channel raised, as the connection's error: socket errors become <see cref="IOException"/>s.</summary>
    private static Exception Classify(Exception error) =>
        error is SocketException socketError ? ThrowHelper.WrapSocketError(socketError) : error;

    private int EndOfInputOrThrow(Exception? error)
    {
        if (IsClosed && TerminalError is null)
        {
            // We closed the channel ourselves: for the reader that is the end of the input (asyncio: local close → EOF).
            MarkInputEnded();
            return 0;
        }

        var terminal = TerminalError ?? (error is null ? ThrowHelper.CreateConnectionLost() : Classify(error));
        Fail(terminal);
        throw TerminalError ?? terminal;
    }

    /// <summary>
    /// The lingering close is over: why it gave up, if it did, becomes the connection's error (the close completed
    /// already, so it is reported there, and raised by whatever reads or waits afterwards) before the peer can see the
    /// reset; then the channel is released.
    /// </summary>
    /// <param name="channel">The channel that lingered.</param>
    /// <param name="reset">Whether to release it with a reset.</param>
    /// <param name="error">Why it gave up, if it did.</param>
    public void OnLingerEnded(IByteChannel channel, bool reset, Exception? error)
    {
        if (error is not null)
        {
            Interlocked.CompareExchange(ref _terminalError, error, null);

            // Never silent: by now WaitClosedAsync has returned, so a server hears of it on Errors and its logger
            // (aggregated there, as a peer decides whether this happens).
            _owner?.ReportError(_connection, error);
        }

        CloseChannel(channel, reset);
    }

    private static void CloseChannel(IByteChannel channel, bool abort)
    {
        try
        {
            channel.Close(abort);
        }
        catch (Exception closeError) when (closeError is SocketException or ObjectDisposedException or IOException)
        {
            // The channel is already gone: nothing more to release.
        }
    }

    private void Terminate(bool abort, Exception? error)
    {
        // Only the call that closes decides how the connection ended: a send failing because we aborted it, or an
        // error arriving after a clean close, must not turn that close into an error afterwards.
        if (Interlocked.Exchange(ref _closedFlag, 1) != 0)
        {
            return; // an abort after a graceful close does nothing (asyncio): the channel's linger goes on, bounded
        }

        if (error is not null)
        {
            Volatile.Write(ref _terminalError, error);
        }

        _closing = true;
        var channel = _channel;
        bool linger = !abort && channel.Socket is not null && !NothingToLingerFor(channel);
        if (!linger)
        {
            CloseChannel(channel, abort);
        }

        _connection.OnCoreClosed(abort ? (TerminalError ?? ThrowHelper.CreateConnectionAborted()) : TerminalError);
        Released();
        if (linger)
        {
            // Graceful over a socket: our FIN (on TLS close_notify first), then, in the background, input is discarded
            // until the peer's EOF, so unread input never turns the close into a reset that destroys what the peer has not
            // read yet. A reader waiting in a receive has taken everything the channel held and expects its EOF now: it can
            // only be woken by the release, so then only the send-side shutdown is awaited (ADR 0011).
            var options = _connection.Options;
            bool drain = Volatile.Read(ref _readerWaiting) == 0;
            new LingeringClose(this, channel, options.CloseTimeout, drain).Start(options.Scheduler);
        }
    }

    /// <summary>
    /// Whether the peer's EOF was read from the socket itself: nothing unread is left and nothing more can come, so closing
    /// (our FIN after what we sent) cannot turn into a reset, and a linger (a deadline timer, a wait for an EOF already
    /// seen, a second shutdown that fails once the peer is gone) would only cost every connect-echo-close client. TLS keeps
    /// its linger: its close_notify is sent asynchronously, and its EOF may be the peer's close_notify alone.
    /// </summary>
    private bool NothingToLingerFor(IByteChannel channel) =>
        channel.Tls is null && (Volatile.Read(ref _directionsDone) & InputEndedBit) != 0;

    /// <summary>The connection is closed: the close is counted, <see cref="Closed"/> completes, the owner is told.</summary>
    private void Released()
    {
        if (Volatile.Read(ref _started) != 0)
        {
            Metrics.ConnectionClosed(_metricTags, _openedAt);
        }

        _closed.Complete();
        _owner?.OnClosed(_connection);
    }
}
