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

    /// <summary>TCP keep-alive on every accepted connection (off by default).</summary>
    public bool KeepAlive { get; set; }

    /// <summary>How long closing a connection may wait for a peer that does not read before it aborts (30 s by default): see <see cref="ConnectionOptions.CloseTimeout"/>.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long connections get to finish when the host stops; <see langword="null"/> (the default) gives them until the
    /// host's own shutdown deadline (<c>HostOptions.ShutdownTimeout</c>, 30 s by default). When it is shorter than the host's
    /// deadline, connections still open after it are aborted then; the host's deadline always wins.
    /// </summary>
    public TimeSpan? ShutdownGrace { get; set; }

    /// <summary>Builds the library's <see cref="ServerOptions"/>, checking every value.</summary>
    /// <param name="name">The server's name, for error messages.</param>
    /// <returns>The options.</returns>
    /// <exception cref="InvalidOperationException">
    /// A value is out of range, both <see cref="UnixPath"/> and <see cref="Hosts"/> are set, or <c>"*"</c> is not alone in <see cref="Hosts"/>.
    /// </exception>
    internal ServerOptions ToServerOptions(string name)
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

        try
        {
            var options = new ServerOptions
            {
                Limit = Limit,
                Backlog = Backlog,
                HighWaterMark = HighWaterMark,
                MaxWriteBufferSize = MaxWriteBufferSize,
                ReusePort = ReusePort,
                NoDelay = NoDelay,
                KeepAlive = KeepAlive,
                CloseTimeout = CloseTimeout,
            };
            if (LowWaterMark is { } low)
            {
                options.LowWaterMark = low;
            }

            return options;
        }
        catch (ArgumentOutOfRangeException error)
        {
            throw new InvalidOperationException($"RxStreams server '{name}': {error.Message}", error);
        }
    }
}
