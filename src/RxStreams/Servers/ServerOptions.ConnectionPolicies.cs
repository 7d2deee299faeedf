namespace RxStreams;

// Connection policies of a server: per-client limits (on System.Threading.RateLimiting) and the connection-age limit.
// The type's docs are in ServerOptions.cs.
public sealed partial class ServerOptions
{
    private int? _maxConnectionsPerClient;
    private int? _maxConnectionRatePerClient;
    private TimeSpan _connectionRatePeriod = TimeSpan.FromSeconds(1);
    private TimeSpan? _maxConnectionAge;
    private TimeSpan? _maxConnectionAgeJitter;

    /// <summary>
    /// The most connections one client address may hold open at once; <see langword="null"/> (the default) for no limit.
    /// The address is the client's as the PROXY protocol header says (<see cref="ProxyProtocol"/>), or the socket's peer;
    /// the check runs after the header and before any TLS handshake. A connection over the limit is aborted at once,
    /// reported on <see cref="StreamServer.Errors"/> as a <see cref="ConnectionRejectedException"/>, counted in the
    /// <c>rxstreams.server.connections.rejected</c> metric and logged (aggregated, at Debug). Unix domain socket peers,
    /// which have no address, are not limited.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? MaxConnectionsPerClient
    {
        get => _maxConnectionsPerClient;
        set => _maxConnectionsPerClient = Positive(value);
    }

    /// <summary>
    /// How many connections one client address may open per <see cref="ConnectionRatePeriod"/>; <see langword="null"/>
    /// (the default) for no limit. A token bucket per address holds this many tokens, and every period (on
    /// <see cref="ConnectionOptions.Scheduler"/>, for all addresses at once) is refilled to it. Applied to the same address
    /// and at the same point as <see cref="MaxConnectionsPerClient"/>, with the same treatment of a connection refused.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? MaxConnectionRatePerClient
    {
        get => _maxConnectionRatePerClient;
        set => _maxConnectionRatePerClient = Positive(value);
    }

    /// <summary>The period of <see cref="MaxConnectionRatePerClient"/> (one second by default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan ConnectionRatePeriod
    {
        get => _connectionRatePeriod;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _connectionRatePeriod = value;
        }
    }

    /// <summary>
    /// How long a connection may live before the server asks it to close; <see langword="null"/> (the default) for no
    /// limit. Behind a Kubernetes service (or any balancer that picks a backend only at connect time), long-lived
    /// connections stay where they first landed; an age limit makes clients reconnect and spreads them again. When the
    /// age (less a random part of <see cref="MaxConnectionAgeJitter"/>, so connections opened together do not all leave
    /// together) is reached, <see cref="StreamConnection.CloseRequested"/> is cancelled, as in a shutdown: the handler
    /// finishes its exchange and closes. Nothing is closed by the signal itself. Counted from the accept, on
    /// <see cref="ConnectionOptions.Scheduler"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan? MaxConnectionAge
    {
        get => _maxConnectionAge;
        set
        {
            if (value is { } age)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(age, TimeSpan.Zero);
            }

            _maxConnectionAge = value;
        }
    }

    /// <summary>
    /// The most that is taken off <see cref="MaxConnectionAge"/> at random for each connection (so every connection is
    /// asked to close between the age less the jitter and the age); <see langword="null"/> (the default) for a tenth of
    /// the age. Must not exceed the age (checked when the server starts).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan? MaxConnectionAgeJitter
    {
        get => _maxConnectionAgeJitter;
        set
        {
            if (value is { } jitter)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(jitter, TimeSpan.Zero);
            }

            _maxConnectionAgeJitter = value;
        }
    }

    /// <summary>The jitter in effect: the one set, or a tenth of the age.</summary>
    internal TimeSpan EffectiveMaxConnectionAgeJitter => _maxConnectionAgeJitter ?? (_maxConnectionAge ?? TimeSpan.Zero) / 10;

    /// <summary>The cross-field checks, at the call that starts the server.</summary>
    internal void ValidateConnectionPolicies()
    {
        if (_maxConnectionAgeJitter is { } jitter && (_maxConnectionAge is not { } age || jitter > age))
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxConnectionAgeJitter), jitter, $"The connection-age jitter must not exceed MaxConnectionAge ({(object?)_maxConnectionAge ?? "not set"}).");
        }
    }

    private static int? Positive(int? value)
    {
        if (value is { } limit)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        }

        return value;
    }
}
