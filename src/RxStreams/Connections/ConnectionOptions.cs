using System.Net;
using System.Reactive.Concurrency;

namespace RxStreams;

/// <summary>
/// Settings of one connection, shared by <see cref="Streams.OpenConnectionAsync(string, int, ConnectionOptions?, CancellationToken)"/>
/// and every connection a <see cref="StreamServer"/> accepts (asyncio's <c>open_connection</c> keyword arguments).
/// </summary>
/// <remarks>
/// Besides asyncio's settings (the reader's <see cref="Limit"/>, the writer's water marks, socket options), a connection
/// has a hard cap on its write buffer (<see cref="MaxWriteBufferSize"/>) and two defensive timeouts, off by default:
/// <see cref="IdleTimeout"/> sheds idle or vanished peers and <see cref="FrameTimeout"/> cuts frames that never finish
/// (slowloris). Every timeout runs on <see cref="Scheduler"/> (docs/adr/0006-timeouts-and-faults.md).
/// </remarks>
public partial class ConnectionOptions
{
    private int _limit = Framing.FramingExtensions.DefaultLimit;
    private int _highWaterMark = DefaultHighWaterMark;
    private int? _lowWaterMark;
    private long _maxWriteBufferSize = 16 * 1024 * 1024;

    /// <summary>asyncio's default write high-water mark: 64 KiB.</summary>
    public const int DefaultHighWaterMark = 64 * 1024;

    /// <summary>
    /// asyncio's <c>limit</c>: the longest line or separator-terminated frame the reader accepts (64 KiB by default).
    /// It bounds what a peer can make the process buffer for one frame.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive (asyncio: 'Limit cannot be &lt;= 0').</exception>
    public int Limit
    {
        get => _limit;
        set
        {
            if (value <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(Limit), value, "Limit cannot be <= 0.");
            }

            _limit = value;
        }
    }

    /// <summary>
    /// The writer's high-water mark in bytes (64 KiB by default): above it <see cref="ConnectionWriter.DrainAsync"/> waits,
    /// and a synchronous chain feeding the writer stops reading its source.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int HighWaterMark
    {
        get => _highWaterMark;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _highWaterMark = value;
        }
    }

    /// <summary>
    /// The writer's low-water mark in bytes: writing resumes at or below it. Defaults to a quarter of
    /// <see cref="HighWaterMark"/> (16 KiB), as in asyncio.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int LowWaterMark
    {
        get => _lowWaterMark ?? _highWaterMark / 4;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _lowWaterMark = value;
        }
    }

    /// <summary>
    /// A hard cap on the writer's buffer, in bytes (16 MiB by default; at least <see cref="HighWaterMark"/>). The water
    /// marks only signal; this is what keeps a writer whose peer reads slowly — and whose application does not await
    /// <see cref="ConnectionWriter.DrainAsync"/> — from growing without bound (asyncio's buffer has no cap). What
    /// happens when a write would pass it: <see cref="WriteBufferOverflow"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public long MaxWriteBufferSize
    {
        get => _maxWriteBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxWriteBufferSize = value;
        }
    }

    /// <summary>What a write that would pass <see cref="MaxWriteBufferSize"/> does; <see cref="WriteBufferOverflowPolicy.FailConnection"/> by default.</summary>
    public WriteBufferOverflowPolicy WriteBufferOverflow { get; set; } = WriteBufferOverflowPolicy.FailConnection;

    /// <summary>Disables Nagle's algorithm (<c>TCP_NODELAY</c>); on by default, as asyncio does for every TCP socket.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// Serves the socket from one of the library's own event loops (one epoll thread per core, Linux x64; elsewhere this
    /// is ignored) instead of .NET's socket engine, and runs a push reader to completion on the loop's thread: receive,
    /// framing, subscribers and the writer's send, with no thread-pool hop per receive (ADR 0016). Off by default; the
    /// environment variable <c>RXSTREAMS_CHANNEL=eventloop</c> turns it on for every socket of the process.
    /// </summary>
    /// <remarks>
    /// Only for handlers that never block. A subscriber that waits synchronously (<c>.Wait()</c>, <c>.Result</c>, a
    /// blocking call, a long computation) stalls every connection that shares its loop, where on .NET's engine it would
    /// hold one pool thread. Pull reads, TLS records and closing still resume on the thread pool, so code after an
    /// <c>await</c> never runs on a loop. Measured on line echo (README, Performance): 1.3-1.5x the throughput of .NET's
    /// engine at about half the server CPU per line.
    /// </remarks>
    public bool PreferEventLoop { get; set; }

    /// <summary>
    /// How long a graceful close may take before it gives up and resets the connection (30 s by default, asyncio's
    /// <c>ssl_shutdown_timeout</c>): <see cref="StreamConnection.DisposeAsync"/> (and a server handler that returns)
    /// waits this long for buffered data to reach a peer that does not read, and every graceful close
    /// (<see cref="ConnectionWriter.Close"/>, <see cref="StreamServer.CloseClients"/>, TLS included) lets its socket
    /// linger at most this long for the peer's EOF once our FIN is sent.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The lingering close (ADR 0011): after the last byte is handed to the operating system, the send side is shut down
    /// (FIN; on TLS close_notify first); the connection is then closed, as in asyncio, but its socket stays open in the
    /// background, reading and discarding input until the peer's EOF. Closing a socket with unread input makes the
    /// kernel send a reset, which destroys what the peer has not read yet; lingering avoids it. At most 1 MiB is
    /// discarded. (A reader waiting in a receive when the close starts has left nothing unread: the socket is then
    /// released at once, which gives that reader its EOF.)
    /// </para>
    /// <para>
    /// When a bound runs out the socket is reset and the close is not silent: <see cref="StreamConnection.Error"/> becomes
    /// a <see cref="TimeoutException"/> (this timeout) or an <see cref="IOException"/> (more than 1 MiB arrived after the
    /// close), set before the reset is sent. An abort (<see cref="ConnectionWriter.Abort"/>, a server's grace period
    /// running out) still resets at once, without an error; after the close it does nothing.
    /// </para>
    /// </remarks>
    public TimeSpan CloseTimeout { get; set; } = DefaultCloseTimeout;

    /// <summary>The default <see cref="CloseTimeout"/>.</summary>
    internal static readonly TimeSpan DefaultCloseTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The scheduler every timeout runs on (see docs/contract.md, guarantee 7 "Time is a scheduler");
    /// <see cref="DefaultScheduler.Instance"/> by default.
    /// </summary>
    public IScheduler Scheduler { get; set; } = DefaultScheduler.Instance;

    /// <summary>
    /// asyncio's <c>family</c>: only addresses of this family are used when a host name is resolved (for a server, only
    /// such listening sockets are bound). <see cref="System.Net.Sockets.AddressFamily.Unspecified"/> (the default) uses all.
    /// </summary>
    public System.Net.Sockets.AddressFamily Family { get; set; } = System.Net.Sockets.AddressFamily.Unspecified;

    /// <summary>
    /// How long connecting may take, across every address tried; <see langword="null"/> (the default) waits as long as the
    /// OS does. Runs on <see cref="Scheduler"/>, so a <c>TestScheduler</c> can drive it; on expiry the connect fails with
    /// <see cref="TimeoutException"/> and its socket is released.
    /// </summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>asyncio's <c>keep_alive</c> (3.13): TCP keep-alive (<c>SO_KEEPALIVE</c>) on the socket; off by default.</summary>
    public bool KeepAlive { get; set; }

    /// <summary>asyncio's <c>local_addr</c>: the local endpoint to bind before connecting; <see langword="null"/> lets the OS choose.</summary>
    public IPEndPoint? LocalEndPoint { get; set; }

    /// <summary>
    /// Where a server logs (category <c>RxStreams.Server</c>): its start and close, accept errors, handlers and
    /// subscribers that failed, connections whose set-up (PROXY header, TLS handshake) failed. <see langword="null"/>
    /// (the default) logs nothing. Logging never sits on the per-chunk path.
    /// </summary>
    /// <remarks>
    /// Peers cannot flood it or forge lines in it. Text they control (a PROXY header's addresses, a Unix socket path) is
    /// escaped: control and other non-printing characters appear as <c>\xNN</c> or <c>\u{...}</c>, and long text is cut.
    /// Connection failures are aggregated per kind (set-up or handler failure, by exception type): the first of each
    /// 10-second interval is logged in full, the others are counted and reported in one line, "N more similar events",
    /// when the next event of that kind comes after the interval or when the server closes (no timer runs for it).
    /// <see cref="StreamServer.Errors"/> still gets every error, one by one.
    /// </remarks>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// asyncio's <c>ssl=</c> for a client: TLS settings (server name for SNI, client certificate, ALPN, handshake timeout);
    /// <see langword="null"/> (the default) for plaintext. The handshake runs before the connect call returns.
    /// </summary>
    public TlsClientOptions? Tls { get; set; }

    internal void Validate()
    {
        if (this is ServerOptions server)
        {
            if (Tls is not null)
            {
                // The client slot, reached through a ConnectionOptions reference: a server would silently ignore it.
                throw new ArgumentException("A server takes TlsServerOptions (ServerOptions.Tls), not TlsClientOptions.", nameof(Tls));
            }

            server.Tls?.Validate(nameof(ServerOptions.Tls));
            server.ValidateConnectionPolicies();
        }

        if (LowWaterMark > HighWaterMark)
        {
            throw new ArgumentOutOfRangeException(nameof(LowWaterMark), LowWaterMark, $"The low-water mark must not exceed the high-water mark ({HighWaterMark}).");
        }

        if (MaxWriteBufferSize < HighWaterMark)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWriteBufferSize), MaxWriteBufferSize, $"The write buffer cap must be at least the high-water mark ({HighWaterMark}).");
        }
    }
}
