namespace RxStreams.Hosting;

/// <summary>
/// The settings of a hosted RxStreams server, bound from configuration (for example the section
/// <c>RxStreams:Servers:echo</c>). <see cref="Port"/> or <see cref="UnixPath"/> must be set: without either (a missing or
/// misnamed section) the server refuses to start. Every other value has asyncio's default, except where it listens:
/// on loopback only unless <see cref="Hosts"/> says otherwise.
/// </summary>
/// <example>
/// <code>
/// "RxStreams": { "Servers": { "echo": { "Port": 7000, "Limit": 65536, "ShutdownGrace": "00:00:10" } } }
/// </code>
/// </example>
public sealed class RxStreamsServerOptions
{
    /// <summary>What <see cref="Hosts"/> holds, alone, to listen on every interface, IPv4 and IPv6.</summary>
    public const string EveryInterface = "*";

    /// <summary>
    /// The host names or addresses to listen on. Empty (the default) listens on loopback only, as Kestrel does: 127.0.0.1
    /// and ::1 (when the machine has IPv6 loopback) on <see cref="Port"/>, or 127.0.0.1 alone when <see cref="Port"/> is 0
    /// (two sockets would get two different free ports). <c>"*"</c> (<see cref="EveryInterface"/>), alone, listens on
    /// every interface, IPv4 and IPv6 (asyncio's <c>host=None</c>): exposing a server to the network is asked for, never
    /// a default. Must be empty when <see cref="UnixPath"/> is set.
    /// </summary>
    public IList<string> Hosts { get; } = new List<string>();

    /// <summary>
    /// The TCP port; required unless <see cref="UnixPath"/> is set (<see langword="null"/>, the default, refuses to start,
    /// naming the missing key). 0 picks a free one: read it from <see cref="RxStreamsHostedServer.Server"/>.
    /// </summary>
    public int? Port { get; set; }

    /// <summary>A Unix domain socket path to listen on instead of TCP; <see langword="null"/> (the default) for TCP.</summary>
    public string? UnixPath { get; set; }

    /// <summary>asyncio's <c>limit</c>: the longest line or separator-terminated frame (64 KiB by default).</summary>
    public int Limit { get; set; } = Framing.FramingExtensions.DefaultLimit;

    /// <summary>asyncio's <c>backlog</c> (100 by default).</summary>
    public int Backlog { get; set; } = 100;

    /// <summary>The writer's high-water mark in bytes (64 KiB by default).</summary>
    public int HighWaterMark { get; set; } = ConnectionOptions.DefaultHighWaterMark;

    /// <summary>The writer's low-water mark in bytes; <see langword="null"/> (the default) for a quarter of <see cref="HighWaterMark"/>.</summary>
    public int? LowWaterMark { get; set; }

    /// <summary>The hard cap on each writer's buffer in bytes (16 MiB by default): see <see cref="ConnectionOptions.MaxWriteBufferSize"/>.</summary>
    public long MaxWriteBufferSize { get; set; } = 16 * 1024 * 1024;

    /// <summary><c>SO_REUSEPORT</c>: several processes may listen on the same port (off by default).</summary>
    public bool ReusePort { get; set; }

    /// <summary><c>TCP_NODELAY</c> on every accepted connection (on by default, as in asyncio).</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// Serves connections from the library's event loops, running push handlers to completion on a loop thread
    /// (<see cref="ConnectionOptions.PreferEventLoop"/>): only for handlers that never block. Off by default.
    /// </summary>
    public bool PreferEventLoop { get; set; }

    /// <summary>TCP keep-alive on every accepted connection (off by default).</summary>
    public bool KeepAlive { get; set; }

    /// <summary>How long closing a connection may wait for a peer that does not read before it aborts (30 s by default): see <see cref="ConnectionOptions.CloseTimeout"/>.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Aborts a connection on which nothing was received or sent for this long (<see cref="ConnectionOptions.IdleTimeout"/>);
    /// <see langword="null"/> (the default) never does. Example: <c>"IdleTimeout": "00:05:00"</c>.
    /// </summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>
    /// Aborts a connection whose peer starts a frame and does not finish it within this long, a slowloris defence
    /// (<see cref="ConnectionOptions.FrameTimeout"/>); <see langword="null"/> (the default) never does.
    /// </summary>
    public TimeSpan? FrameTimeout { get; set; }

    /// <summary>
    /// The most connections open at once (<see cref="ServerOptions.MaxConnections"/>): at the cap new clients wait in the
    /// OS backlog; <see langword="null"/> (the default) takes the library's default, derived from the process's open-file
    /// limit (<see cref="ServerOptions.DefaultMaxConnections"/>).
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>
    /// The most connections one client address may hold open at once (<see cref="ServerOptions.MaxConnectionsPerClient"/>,
    /// judged on the PROXY-derived address); <see langword="null"/> (the default) has no per-client cap.
    /// </summary>
    public int? MaxConnectionsPerClient { get; set; }

    /// <summary>
    /// The most new connections one client address may open per <see cref="ConnectionRatePeriod"/>
    /// (<see cref="ServerOptions.MaxConnectionRatePerClient"/>); <see langword="null"/> (the default) has no rate limit.
    /// </summary>
    public int? MaxConnectionRatePerClient { get; set; }

    /// <summary>The period of <see cref="MaxConnectionRatePerClient"/>; unset, the library's default (one second).</summary>
    public TimeSpan? ConnectionRatePeriod { get; set; }

    /// <summary>
    /// How old a connection may grow before the server asks it to finish through <c>CloseRequested</c>
    /// (<see cref="ServerOptions.MaxConnectionAge"/>), to rebalance behind a load balancer; <see langword="null"/> (the
    /// default) lets connections live as long as they like.
    /// </summary>
    public TimeSpan? MaxConnectionAge { get; set; }

    /// <summary>The random share taken off <see cref="MaxConnectionAge"/> per connection (<see cref="ServerOptions.MaxConnectionAgeJitter"/>); unset, a tenth of the age.</summary>
    public TimeSpan? MaxConnectionAgeJitter { get; set; }

    /// <summary>What a write past <see cref="MaxWriteBufferSize"/> does (<see cref="ConnectionOptions.WriteBufferOverflow"/>); fails the connection by default.</summary>
    public WriteBufferOverflowPolicy WriteBufferOverflow { get; set; } = WriteBufferOverflowPolicy.FailConnection;

    /// <summary>
    /// <c>Required</c> for a server behind a proxy that sends the PROXY protocol header (HAProxy's <c>accept-proxy</c>,
    /// nginx's <c>proxy_protocol</c>): <see cref="ServerOptions.ProxyProtocol"/>. <c>Off</c> by default.
    /// </summary>
    public ProxyProtocolMode ProxyProtocol { get; set; }

    /// <summary>How long a client may take to send its PROXY header (30 s by default): <see cref="ServerOptions.ProxyProtocolTimeout"/>.</summary>
    public TimeSpan ProxyProtocolTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest PROXY header accepted, in bytes (4096 by default): <see cref="ServerOptions.ProxyProtocolMaxHeaderLength"/>.</summary>
    public int ProxyProtocolMaxHeaderLength { get; set; } = 4096;

    /// <summary>
    /// TLS for every connection: a <c>Tls</c> section with a certificate (<see cref="RxStreamsTlsOptions"/>);
    /// <see langword="null"/> (no section, the default) serves plaintext.
    /// </summary>
    public RxStreamsTlsOptions? Tls { get; set; }

    /// <summary>
    /// Adjusts the library's <see cref="ServerOptions"/> after the configured values are applied, for what configuration
    /// cannot say (a <see cref="TlsServerOptions.CertificateSelector"/>, a scheduler); set it in code with
    /// <c>AddRxStreamsServer(...).Configure(o =&gt; o.ConfigureServer = s =&gt; ...)</c>. <see langword="null"/> by default.
    /// </summary>
    public Action<ServerOptions>? ConfigureServer { get; set; }

    /// <summary>
    /// How long connections get to finish when the host stops; <see langword="null"/> (the default) gives them until the
    /// host's own shutdown deadline (<c>HostOptions.ShutdownTimeout</c>, 30 s by default). When it is shorter than the host's
    /// deadline, connections still open after it are aborted then; the host's deadline always wins.
    /// </summary>
    public TimeSpan? ShutdownGrace { get; set; }

    /// <summary>Builds the library's <see cref="ServerOptions"/>, checking every value and loading the TLS certificate.</summary>
    /// <param name="name">The server's name, for error messages.</param>
    /// <param name="loggerFactory">Where the library logs (the host's), or <see langword="null"/>.</param>
    /// <returns>The options.</returns>
    /// <exception cref="InvalidOperationException">
    /// A value is out of range, both <see cref="UnixPath"/> and <see cref="Hosts"/> are set, <c>"*"</c> is not alone in
    /// <see cref="Hosts"/>, or the TLS settings are incomplete or their files unreadable.
    /// </exception>
    internal ServerOptions ToServerOptions(string name, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        if (UnixPath is not null && Hosts.Count > 0)
        {
            throw new InvalidOperationException($"RxStreams server '{name}': set either UnixPath or Hosts, not both.");
        }

        if (Hosts.Count > 1 && Hosts.Contains(EveryInterface))
        {
            throw new InvalidOperationException($"RxStreams server '{name}': \"{EveryInterface}\" (every interface) must be the only entry of Hosts.");
        }

        if (CloseTimeout < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"RxStreams server '{name}': CloseTimeout must not be negative (was {CloseTimeout}).");
        }

        if (ShutdownGrace is { } grace && grace < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"RxStreams server '{name}': ShutdownGrace must not be negative (was {grace}).");
        }

        // Each value is applied on its own, so that a refusal names its key ("MaxConnections: ... must be positive").
        var options = new ServerOptions { LoggerFactory = loggerFactory };
        Apply(name, nameof(Limit), () => options.Limit = Limit);
        Apply(name, nameof(Backlog), () => options.Backlog = Backlog);
        Apply(name, nameof(HighWaterMark), () => options.HighWaterMark = HighWaterMark);
        if (LowWaterMark is { } low)
        {
            Apply(name, nameof(LowWaterMark), () => options.LowWaterMark = low); // unset: a quarter of the high-water mark
        }

        Apply(name, nameof(MaxWriteBufferSize), () => options.MaxWriteBufferSize = MaxWriteBufferSize);
        Apply(name, nameof(IdleTimeout), () => options.IdleTimeout = IdleTimeout);
        Apply(name, nameof(FrameTimeout), () => options.FrameTimeout = FrameTimeout);
        Apply(name, nameof(MaxConnections), () => options.MaxConnections = MaxConnections);
        Apply(name, nameof(MaxConnectionsPerClient), () => options.MaxConnectionsPerClient = MaxConnectionsPerClient);
        Apply(name, nameof(MaxConnectionRatePerClient), () => options.MaxConnectionRatePerClient = MaxConnectionRatePerClient);
        if (ConnectionRatePeriod is { } period)
        {
            Apply(name, nameof(ConnectionRatePeriod), () => options.ConnectionRatePeriod = period);
        }

        Apply(name, nameof(MaxConnectionAge), () => options.MaxConnectionAge = MaxConnectionAge);
        if (MaxConnectionAgeJitter is { } jitter)
        {
            Apply(name, nameof(MaxConnectionAgeJitter), () => options.MaxConnectionAgeJitter = jitter);
        }
        Apply(name, nameof(ProxyProtocolTimeout), () => options.ProxyProtocolTimeout = ProxyProtocolTimeout);
        Apply(name, nameof(ProxyProtocolMaxHeaderLength), () => options.ProxyProtocolMaxHeaderLength = ProxyProtocolMaxHeaderLength);
        options.ReusePort = ReusePort;
        options.NoDelay = NoDelay;
        options.PreferEventLoop = PreferEventLoop;
        options.KeepAlive = KeepAlive;
        options.CloseTimeout = CloseTimeout;
        options.WriteBufferOverflow = WriteBufferOverflow;
        options.ProxyProtocol = ProxyProtocol;
        options.Tls = Tls?.ToTlsServerOptions(name);
        Apply(name, nameof(ConfigureServer), () => ConfigureServer?.Invoke(options));
        return options;
    }

    private static void Apply(string name, string key, Action apply)
    {
        try
        {
            apply();
        }
        catch (ArgumentException error)
        {
            throw new InvalidOperationException($"RxStreams server '{name}': {key}: {error.Message}", error);
        }
    }
}
