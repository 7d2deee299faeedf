using System.Net;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// One connection: asyncio's <c>(reader, writer)</c> pair, as one disposable object.
/// <c>var (reader, writer) = await Streams.OpenConnectionAsync(...)</c> deconstructs it.
/// </summary>
/// <remarks>
/// <para>
/// Lifetime: the connection closes when <see cref="ConnectionWriter.Close"/>, <see cref="ConnectionWriter.Abort"/> or
/// <see cref="DisposeAsync"/> is called, when it fails (reset, I/O error, a subscriber that throws), or by itself once
/// both directions are finished (the peer's EOF was read and our side was half-closed with
/// <see cref="ConnectionWriter.WriteEof"/>), so a finished echo or proxy connection does not stay open. A peer's EOF alone
/// leaves it open (half-closed) so the reply can still be written, as in asyncio.
/// </para>
/// <para>
/// A graceful close loses nothing: after our FIN the socket lingers in the background, reading and discarding the peer's
/// input until its EOF before it is released (bounded by <see cref="ConnectionOptions.CloseTimeout"/> and 1 MiB; running
/// out becomes the connection's <see cref="Error"/>), so input nobody read never turns the close into a reset.
/// <see cref="Closed"/> does not wait for the linger, as asyncio's <c>wait_closed()</c> does not.
/// </para>
/// </remarks>
public sealed class StreamConnection : IAsyncDisposable, IDisposable
{
    private readonly ConnectionCore _core;
    private readonly ConnectionOptions _options;
    private readonly ConnectionWatchdog? _watchdog;
    private int _closeStarted;

    /// <summary>
    /// Builds a connection over <paramref name="channel"/>: its core, watchdog, writer and reader, each given what it
    /// needs. Nothing starts here (no metrics, no timer): call <see cref="Start"/> once whoever tracks the connection
    /// (its <paramref name="owner"/>) knows it, or use <see cref="Open"/>.
    /// </summary>
    /// <param name="channel">The bytes: a socket, an in-memory pipe end, ...; the connection owns it from now on.</param>
    /// <param name="options">The connection's settings.</param>
    /// <param name="owner">Told when the connection closes or a consumer fails (a server); <see langword="null"/> for none.</param>
    internal StreamConnection(IByteChannel channel, ConnectionOptions options, IConnectionOwner? owner)
    {
        _options = options;
        _core = new ConnectionCore(channel, this, owner);
        _watchdog = ConnectionWatchdog.For(_core, options);
        Writer = new ConnectionWriter(_core, options, _watchdog);
        Reader = new ConnectionReader(_core, options.Limit, Writer, _watchdog);
    }

    /// <summary>The receiving half (asyncio's <c>StreamReader</c>).</summary>
    public ConnectionReader Reader { get; }

    /// <summary>The sending half (asyncio's <c>StreamWriter</c>).</summary>
    public ConnectionWriter Writer { get; }

    /// <summary>
    /// The local endpoint (asyncio's <c>sockname</c>). Behind a PROXY protocol header (<see cref="ServerOptions.ProxyProtocol"/>),
    /// the address the client connected to, as the header says.
    /// </summary>
    public EndPoint? LocalEndPoint => _core.Identity.SockName;

    /// <summary>
    /// The peer's endpoint (asyncio's <c>peername</c>). Behind a PROXY protocol header (<see cref="ServerOptions.ProxyProtocol"/>),
    /// the real client's address, as the header says; the proxy's own is <see cref="ProxyEndPoint"/>.
    /// </summary>
    public EndPoint? RemoteEndPoint => _core.Identity.PeerName;

    /// <summary>
    /// The PROXY protocol header read from this connection (<see cref="ServerOptions.ProxyProtocol"/>); <see langword="null"/>
    /// when the server does not ask for one.
    /// </summary>
    public ProxyProtocolHeader? ProxyHeader => _core.Identity.ProxyHeader;

    /// <summary>
    /// The socket's own peer: with a PROXY protocol header, the proxy or load balancer that relayed the connection
    /// (<c>GetExtraInfo("proxy_peername")</c>); <see langword="null"/> without one (then <see cref="RemoteEndPoint"/> is the socket's peer).
    /// </summary>
    public EndPoint? ProxyEndPoint => _core.Identity.ProxyPeer;

    /// <summary>The socket; do not read from or write to it directly.</summary>
    public Socket? Socket => _core.Channel.Socket;

    /// <summary>Completes (never faults) when the connection is closed, whatever the reason; see <see cref="Error"/>.</summary>
    public Task Closed => _core.Closed;

    /// <summary>
    /// Cancelled when the server that accepted this connection is shutting down (<see cref="StreamServer.ShutdownAsync"/>)
    /// or when <see cref="RequestClose"/> is called: a handler should finish its current exchange and close. Nothing is
    /// closed by the signal itself; connections still open when the shutdown's grace period ends are aborted.
    /// </summary>
    public CancellationToken CloseRequested => _core.CloseRequested;

    /// <summary>Signals <see cref="CloseRequested"/> without closing anything.</summary>
    public void RequestClose() => _core.RequestClose();

    /// <summary>The error that ended the connection (a reset, an I/O error, a subscriber's exception), if any.</summary>
    public Exception? Error => _core.TerminalError;

    internal ConnectionCore Core => _core;

    internal ConnectionOptions Options => _options;

    /// <summary>The host name the connection was opened with (the default TLS server name); <see langword="null"/> otherwise.</summary>
    internal string? HostName { get; init; }

    /// <summary>The TLS session (certificate, protocol, cipher suite, ALPN, SNI name); <see langword="null"/> on a plain connection (until STARTTLS).</summary>
    public TlsInfo? Tls => _core.Channel.Tls;

    // Links of the owning server's ConnectionList (intrusive, so tracking allocates nothing per connection).
    internal StreamConnection? PreviousTracked { get; set; }

    internal StreamConnection? NextTracked { get; set; }

    internal bool IsTracked { get; set; }

    /// <summary>Builds a connection nobody tracks and starts it at once (see the constructor).</summary>
    /// <param name="channel">The bytes; the connection owns the channel from now on.</param>
    /// <param name="options">The connection's settings.</param>
    /// <param name="hostName">The host name it was opened with (the default TLS server name), if any.</param>
    /// <returns>The started connection.</returns>
    internal static StreamConnection Open(IByteChannel channel, ConnectionOptions options, string? hostName = null)
    {
        var connection = new StreamConnection(channel, options, owner: null) { HostName = hostName };
        connection.Start();
        return connection;
    }

    /// <summary>Starts what runs on its own: the connection counts as open in the metrics, and the watchdog's timer runs.</summary>
    internal void Start()
    {
        _core.Start();
        _watchdog?.Start();
    }

    /// <summary>The core closed: the writer's waiters are released with <paramref name="writerError"/>, the watchdog stops.</summary>
    internal void OnCoreClosed(Exception? writerError)
    {
        _watchdog?.Stop();
        Writer.OnTransportClosed(writerError);
    }

    /// <summary>Gives the two halves to a deconstruction: <c>var (reader, writer) = connection;</c>.</summary>
    /// <param name="reader">The reader.</param>
    /// <param name="writer">The writer.</param>
    public void Deconstruct(out ConnectionReader reader, out ConnectionWriter writer)
    {
        reader = Reader;
        writer = Writer;
    }

    /// <summary>Resets the connection at once, discarding buffered data.</summary>
    public void Abort() => _core.Abort();

    /// <summary>
    /// Closes gracefully: sends what is buffered, shuts the send side down (FIN; on TLS close_notify first), and completes
    /// when the connection is closed. The socket then lingers in the background, reading and discarding input until the
    /// peer's EOF (unread input would otherwise make the kernel reset the connection and destroy what the peer has not
    /// read yet). Never throws; idempotent.
    /// </summary>
    /// <remarks>
    /// Sending is bounded by <see cref="ConnectionOptions.CloseTimeout"/> (30 s): a peer that does not read is then reset
    /// and <see cref="Error"/> is a <see cref="TimeoutException"/> saying so. The linger has the same bound (and 1 MiB);
    /// running out sets <see cref="Error"/> too. See ADR 0011.
    /// </remarks>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        BeginClose();
        await _core.Closed.ConfigureAwait(false);
    }

    /// <summary>Starts a graceful close (see <see cref="DisposeAsync"/>) without waiting for it. Idempotent.</summary>
    public void Dispose() => BeginClose();

    private void BeginClose()
    {
        if (Interlocked.Exchange(ref _closeStarted, 1) != 0)
        {
            return; // idempotent: one close, one deadline
        }

        Writer.Close();
        if (!_core.IsClosed)
        {
            var deadline = _options.Scheduler.Schedule(this, _options.CloseTimeout, static (_, connection) =>
            {
                // Not silent: the peer may not have everything we sent (it did not read, or did not end its side).
                connection._core.Fail(LingeringClose.CreateTimeoutError(connection._options.CloseTimeout));
                return System.Reactive.Disposables.Disposable.Empty;
            });
            _core.Closed.ContinueWith(static (_, state) => ((IDisposable)state!).Dispose(), deadline, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}
