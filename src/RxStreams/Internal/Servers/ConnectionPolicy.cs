using System.Net;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Threading.RateLimiting;

namespace RxStreams.Internal.Servers;

/// <summary>
/// A server's connection policies (<see cref="ServerOptions.MaxConnectionsPerClient"/>,
/// <see cref="ServerOptions.MaxConnectionRatePerClient"/>, <see cref="ServerOptions.MaxConnectionAge"/>), run as a set-up
/// step after the PROXY header (so the client's address is the header's) and before TLS (so a refused client costs no
/// handshake).
/// </summary>
internal sealed class ConnectionPolicy : IDisposable
{
    /// <summary>The <c>rxstreams.policy</c> tag of a connection refused for holding too many connections.</summary>
    public const string ConcurrencyPolicy = "max_connections_per_client";

    /// <summary>The <c>rxstreams.policy</c> tag of a connection refused for opening connections too fast.</summary>
    public const string RatePolicy = "max_connection_rate_per_client";

    private readonly ClientConcurrencyLimits? _concurrency;
    private readonly ClientRateLimits? _rate;
    private readonly IScheduler _scheduler;
    private readonly TimeSpan? _maxAge;
    private readonly TimeSpan _jitter;

    private ConnectionPolicy(ServerOptions options)
    {
        _scheduler = options.Scheduler;
        _concurrency = options.MaxConnectionsPerClient is { } perClient ? new ClientConcurrencyLimits(perClient) : null;
        _rate = options.MaxConnectionRatePerClient is { } rate ? new ClientRateLimits(rate, options.ConnectionRatePeriod, options.Scheduler) : null;
        _maxAge = options.MaxConnectionAge;
        _jitter = options.EffectiveMaxConnectionAgeJitter;
    }

    /// <summary>The policy <paramref name="options"/> ask for; <see langword="null"/> when they ask for none.</summary>
    public static ConnectionPolicy? For(ServerOptions options) =>
        options.MaxConnectionsPerClient is null && options.MaxConnectionRatePerClient is null && options.MaxConnectionAge is null
            ? null
            : new ConnectionPolicy(options);

    /// <summary>The set-up step: admits the connection or throws <see cref="ConnectionRejectedException"/>; starts its age timer.</summary>
    public ValueTask AdmitAsync(StreamConnection connection, CancellationToken cancellationToken)
    {
        if (Address(connection.RemoteEndPoint) is { } address)
        {
            var lease = _concurrency?.TryAcquire(address);
            if (lease is { IsAcquired: false })
            {
                Reject(ConcurrencyPolicy, $"{PeerText.Escape(address.ToString())} already holds the most connections one client may (ServerOptions.MaxConnectionsPerClient).");
            }

            if (_rate is not null && !_rate.TryAcquire(address))
            {
                lease?.Dispose();
                Reject(RatePolicy, $"{PeerText.Escape(address.ToString())} opened connections faster than one client may (ServerOptions.MaxConnectionRatePerClient).");
            }

            if (lease is not null)
            {
                ReleaseOnClose(connection, lease);
            }
        }

        if (_maxAge is { } age)
        {
            var due = age - (_jitter * Random.Shared.NextDouble());
            var timer = _scheduler.Schedule(connection, due, static (_, aged) =>
            {
                aged.RequestClose(); // drains as a shutdown does: the handler finishes and closes
                return Disposable.Empty;
            });
            ReleaseOnClose(connection, timer);
        }

        return default;
    }

    /// <summary>Ends the rate limiter's refill timer (the server closed).</summary>
    public void Dispose() => _rate?.Dispose();

    private static IPAddress? Address(EndPoint? endPoint) => endPoint is IPEndPoint ip
        ? ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address
        : null;

    private static void ReleaseOnClose(StreamConnection connection, IDisposable resource) =>
        connection.Closed.ContinueWith(static (_, held) => ((IDisposable)held!).Dispose(), resource, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Reject(string policy, string message)
    {
        Metrics.ConnectionRejected(policy);
        throw new ConnectionRejectedException("Refused the connection: " + message);
    }

    /// <summary>A <see cref="ConcurrencyLimiter"/> per client address, dropped when its client holds no connection.</summary>
    private sealed class ClientConcurrencyLimits(int permits)
    {
        private readonly Dictionary<IPAddress, ConcurrencyLimiter> _limiters = [];

        public RateLimitLease TryAcquire(IPAddress address)
        {
            lock (_limiters)
            {
                if (!_limiters.TryGetValue(address, out var limiter))
                {
                    limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = permits, QueueLimit = 0 });
                    _limiters.Add(address, limiter);
                }

                var lease = limiter.AttemptAcquire();
                return lease.IsAcquired ? new Held(this, address, limiter, lease) : lease;
            }
        }

        private void Release(IPAddress address, ConcurrencyLimiter limiter, RateLimitLease lease)
        {
            lock (_limiters)
            {
                lease.Dispose();
                if (limiter.GetStatistics()?.CurrentAvailablePermits == permits)
                {
                    _limiters.Remove(address); // idle: a fresh one is the same, and the table stays as small as the clients
                    limiter.Dispose();
                }
            }
        }

        private sealed class Held(ClientConcurrencyLimits owner, IPAddress address, ConcurrencyLimiter limiter, RateLimitLease lease) : RateLimitLease
        {
            private int _released;

            public override bool IsAcquired => true;

            public override IEnumerable<string> MetadataNames => [];

            public override bool TryGetMetadata(string metadataName, out object? metadata)
            {
                metadata = null;
                return false;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing && Interlocked.Exchange(ref _released, 1) == 0)
                {
                    owner.Release(address, limiter, lease);
                }

                base.Dispose(disposing);
            }
        }
    }

    /// <summary>
    /// A <see cref="TokenBucketRateLimiter"/> per client address, refilled by one timer on the server's scheduler (so
    /// tests drive it in virtual time).
    /// </summary>
    private sealed class ClientRateLimits : IDisposable
    {
        private readonly Dictionary<IPAddress, TokenBucketRateLimiter> _buckets = [];
        private readonly int _tokens;
        private readonly TimeSpan _period;
        private readonly IDisposable _refill;

        public ClientRateLimits(int tokens, TimeSpan period, IScheduler scheduler)
        {
            _tokens = tokens;
            _period = period;
            _refill = scheduler.SchedulePeriodic(period, Refill);
        }

        public bool TryAcquire(IPAddress address)
        {
            lock (_buckets)
            {
                if (!_buckets.TryGetValue(address, out var bucket))
                {
                    bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = _tokens,
                        TokensPerPeriod = _tokens,
                        ReplenishmentPeriod = _period,
                        AutoReplenishment = false, // refilled by Refill, on the server's clock
                        QueueLimit = 0,
                    });
                    _buckets.Add(address, bucket);
                }

                using var lease = bucket.AttemptAcquire();
                return lease.IsAcquired;
            }
        }

        public void Dispose()
        {
            _refill.Dispose();
            lock (_buckets)
            {
                foreach (var bucket in _buckets.Values)
                {
                    bucket.Dispose();
                }

                _buckets.Clear();
            }
        }

        /// <summary>
        /// Every period, every bucket is full again. Done by dropping the buckets (the next connection of a client makes a
        /// full one) rather than by <see cref="ReplenishingRateLimiter.TryReplenish"/>, which measures the period on the
        /// machine's clock and so would ignore a virtual one; it also keeps the table as small as the period's clients.
        /// </summary>
        private void Refill()
        {
            lock (_buckets)
            {
                foreach (var bucket in _buckets.Values)
                {
                    bucket.Dispose();
                }

                _buckets.Clear();
            }
        }
    }
}
