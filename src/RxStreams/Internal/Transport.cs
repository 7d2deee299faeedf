using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// One connection's byte pipe and its lifetime: what a socket (or, later, TLS or an in-memory pair) must provide to the
/// reader and writer.
/// </summary>
/// <remarks>
/// <para>Lifetime states (one-way):</para>
/// <code>
/// Open ──Close()────────────► Closed   graceful: the writer has flushed; FIN sent; wait_closed completes
///   │ ──both directions done─► Closed   peer EOF seen by the reader and our write side shut down
///   │ ──Abort()─────────────► Closed   RST; buffered data discarded; wait_closed completes
///   └ ──Fail(error)─────────► Closed   I/O error or handler fault; wait_closed and drain raise the error
/// </code>
/// <para>
/// A graceful close of a socket lingers (<see cref="LingeringClose"/>, ADR 0011): the connection is closed at once, as in
/// asyncio (<see cref="Closed"/> completes, writes are refused, the reader is at EOF, its owner forgets it), but the
/// socket stays open in the background, reading and discarding input until the peer's EOF, so unread input never turns
/// the close into a reset. A bound running out sets <see cref="TerminalError"/> afterwards; an abort cuts it short.
/// </para>
/// <para>
/// A receive that fails because we closed the socket ourselves is the end of the input, not an error (Kestrel's
/// "connection abort" rule), so a local close looks like EOF to the reader, as in asyncio.
/// </para>
/// </remarks>
internal abstract class Transport : ByteSource
{
    private LazyCompletion _closed; // its task is created only when someone waits: an idle connection should be small
    private Exception? _terminalError;
    private int _closedFlag;
    private volatile bool _closing;
    private int _directionsDone; // InputEndedBit | OutputShutdownBit, set with Interlocked.Or so both sides see each other
    private const int InputEndedBit = 1, OutputShutdownBit = 2;
    private CancellationTokenSource? _closeRequested;
    private int _closeRequestedFlag;
    private long _openedAt; // for the connection-duration metric; 0 when nobody measured it
    private KeyValuePair<string, object?>[]? _metricTags; // shared (MetricTags); null when nobody counted the open

    /// <summary>The writer to notify when the transport dies, so pending drains are released.</summary>
    public ConnectionWriter? Writer { get; set; }

    /// <summary>The idle and frame timeouts, when the options ask for them; stopped when the transport closes.</summary>
    public ConnectionWatchdog? Watchdog { get; set; }

    /// <summary>asyncio's <c>is_closing()</c>: close requested, aborted or failed.</summary>
    public bool IsClosing => _closing || IsClosed;

    /// <summary>Whether the connection is closed (after a graceful close its socket may still linger in the background).</summary>
    public bool IsClosed => Volatile.Read(ref _closedFlag) != 0;

    /// <summary>The error that ended the connection, if one did.</summary>
    public Exception? TerminalError => Volatile.Read(ref _terminalError);

    /// <summary>Completes (never faults) once the transport is closed, whatever the reason.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Told when this connection closes or its consumer fails (a server tracking its connections).</summary>
    public IConnectionOwner? Owner { get; set; }

    /// <summary>The connection object the owner knows this transport by.</summary>
    public StreamConnection? Connection { get; set; }

    /// <summary>Whether the write direction can be shut down on its own (asyncio's <c>can_write_eof()</c>).</summary>
    public abstract bool CanShutdownSend { get; }

    /// <summary>The local endpoint (asyncio's <c>sockname</c>).</summary>
    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>The peer's endpoint (asyncio's <c>peername</c>).</summary>
    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>The socket, when there is one (asyncio's <c>socket</c>).</summary>
    public abstract Socket? Socket { get; }

    /// <summary>OpenTelemetry's <c>network.transport</c> value for this connection: <c>tcp</c>, <c>unix</c> or <c>memory</c>.</summary>
    public virtual string NetworkTransport => Socket?.AddressFamily == AddressFamily.Unix ? "unix" : "tcp";

    /// <summary>Counts the connection as open in the metrics; its close is counted when the transport terminates.</summary>
    public void CountOpened()
    {
        _metricTags = Metrics.ConnectionTags(this);
        _openedAt = Metrics.ConnectionOpened(_metricTags);
    }

    /// <summary>The PROXY protocol header the server read before delivering the connection, if it was asked to.</summary>
    public ProxyProtocolHeader? ProxyHeader { get; set; }

    /// <summary>The connection's logical peer (asyncio's <c>peername</c>): the client a PROXY header names, else <see cref="RemoteEndPoint"/>.</summary>
    public EndPoint? PeerName => ProxyHeader is { HasAddresses: true } header ? header.Source : RemoteEndPoint;

    /// <summary>The connection's logical local end (asyncio's <c>sockname</c>): where a PROXY header says the client connected, else <see cref="LocalEndPoint"/>.</summary>
    public EndPoint? SockName => ProxyHeader is { HasAddresses: true } header ? header.Destination : LocalEndPoint;

    /// <summary>
    /// Whether the end of the input has been seen, or the connection was closed or aborted locally without an error (a
    /// local close is the end of the input, as asyncio's <c>connection_lost(None)</c> feeds EOF: <c>at_eof()</c> is then
    /// true once the buffer is read, bpo-35065). A connection that failed is not at EOF: its reads raise the error.
    /// </summary>
    public override bool InputEnded =>
        (Volatile.Read(ref _directionsDone) & InputEndedBit) != 0 || (IsClosed && TerminalError is null);

    /// <summary>Completes when the transport closes; the reader's loop also stops waiting on other writers then.</summary>
    public override Task? Stopped => Closed;

    /// <summary>The error that ended the connection: the reader raises it once its buffered bytes are read.</summary>
    public override Exception? PendingError => TerminalError;

    /// <summary>A subscriber threw: the connection is aborted with that error (never the server).</summary>
    public override void OnConsumerFault(Exception error)
    {
        Fail(error);
        Owner?.ReportError(Connection, error);
    }

    /// <summary>Sends every segment, in order, reporting progress through <see cref="ConnectionWriter.OnBytesSent"/> as bytes reach the OS.</summary>
    public abstract ValueTask SendAsync(SendBatch batch);

    /// <summary>Shuts the write direction down (FIN); called by the writer once everything buffered is sent.</summary>
    public void ShutdownSend()
    {
        if (IsClosed)
        {
            return;
        }

        try
        {
            ShutdownSendCore();
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            Fail(error is SocketException socketError ? ThrowHelper.WrapSocketError(socketError) : error);
            return;
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

    /// <summary>Asks whoever handles the connection to finish and close it (does not close anything itself).</summary>
    public void RequestClose()
    {
        if (Interlocked.Exchange(ref _closeRequestedFlag, 1) == 0)
        {
            Volatile.Read(ref _closeRequested)?.Cancel();
        }
    }

    /// <summary>Marks the transport as closing (asyncio's <c>is_closing()</c> turns true before the flush ends).</summary>
    public void MarkClosing() => _closing = true;

    /// <summary>Releases the socket gracefully; the writer calls it once its buffer is flushed.</summary>
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

    /// <summary>Shuts the write direction down.</summary>
    protected abstract void ShutdownSendCore();

    /// <summary>Releases the underlying resources; with <paramref name="abort"/>, resets instead of closing gracefully.</summary>
    /// <returns>Whether the graceful close lingers: the subclass then reports its end with <see cref="OnLingerEnded"/>.</returns>
    protected abstract bool CloseCore(bool abort);

    /// <summary>
    /// The lingering close is over; <paramref name="error"/> is why it gave up, if it did: it becomes the connection's
    /// error (the close completed already, so it is reported there, and raised by whatever reads or waits afterwards),
    /// and the owner (a server) reports it on its <c>Errors</c> and logger.
    /// </summary>
    protected void OnLingerEnded(Exception? error)
    {
        if (error is not null)
        {
            Interlocked.CompareExchange(ref _terminalError, error, null);

            // Never silent: by now WaitClosedAsync has returned, so a server hears of it on Errors and its logger
            // (aggregated there, as a peer decides whether this happens).
            Owner?.ReportError(Connection, error);
        }
    }

    private void Terminate(bool abort, Exception? error)
    {
        // Only the call that closes decides how the connection ended: a send failing because we aborted it, or an
        // error arriving after a clean close, must not turn that close into an error afterwards.
        if (Interlocked.Exchange(ref _closedFlag, 1) != 0)
        {
            return; // an abort after a graceful close does nothing (asyncio): the socket's linger goes on, bounded
        }

        if (error is not null)
        {
            Volatile.Write(ref _terminalError, error);
        }

        _closing = true;
        Watchdog?.Stop();
        try
        {
            _ = CloseCore(abort);
        }
        catch (Exception closeError) when (closeError is SocketException or ObjectDisposedException)
        {
            // The socket is already gone: nothing more to release.
        }

        Writer?.OnTransportClosed(abort ? (TerminalError ?? ThrowHelper.CreateConnectionAborted()) : TerminalError);
        Released();
    }

    private void Released()
    {
        Metrics.ConnectionClosed(_metricTags, _openedAt);
        _closed.Complete();
        if (Owner is { } owner && Connection is { } connection)
        {
            owner.OnClosed(connection);
        }
    }
}

/// <summary>What a transport tells whoever tracks its connection (a <see cref="StreamServer"/>).</summary>
internal interface IConnectionOwner
{
    /// <summary>The connection closed, whatever the reason.</summary>
    void OnClosed(StreamConnection connection);

    /// <summary>A handler or subscriber of <paramref name="connection"/> failed; the connection was aborted with it.</summary>
    void ReportError(StreamConnection? connection, Exception error);
}
