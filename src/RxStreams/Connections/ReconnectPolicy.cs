using System.Net.Sockets;

namespace RxStreams;

/// <summary>
/// How a client connects again: the attempts allowed, exponential backoff with jitter between them, and whether a
/// connection that ended is replaced. Used by
/// <see cref="Streams.Connect(IEnumerable{System.Net.EndPoint}, ConnectionOptions?, ReconnectPolicy)"/> and
/// <see cref="Streams.Reconnect(IObservable{StreamConnection}, ReconnectPolicy, System.Reactive.Concurrency.IScheduler?)"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Semantics, as in Rx.</b> By default the policy is a <c>Retry</c> with backoff: a connect that fails is tried
/// again after <see cref="GetDelay"/>, up to <see cref="MaxAttempts"/> attempts in a row, and the sequence emits one
/// connection and completes when that connection is over (the peer closed, or it closed). With
/// <see cref="ReconnectAfterClose"/> it is also a <c>Repeat</c>: each time the connection is over, a new one is made
/// (after <see cref="InitialDelay"/>, jittered), so the sequence is the successive connections and never completes by
/// itself; dispose the subscription to stop.
/// </para>
/// <para>
/// <b>Backoff.</b> After the n-th failed attempt in a row the next waits
/// min(<see cref="MaxDelay"/>, <see cref="InitialDelay"/> × <see cref="Multiplier"/>^(n−1)), shortened by a random
/// part of up to <see cref="Jitter"/> of itself so that many clients do not reconnect in step. The delays run on the
/// scheduler given (the connection options' <see cref="ConnectionOptions.Scheduler"/>), so a <c>TestScheduler</c>
/// drives them in virtual time. A connection made resets the count.
/// </para>
/// <para>
/// A policy may be shared by several subscriptions; each keeps its own count.
/// </para>
/// </remarks>
public sealed class ReconnectPolicy
{
    private int? _maxAttempts = 10;
    private TimeSpan _initialDelay = TimeSpan.FromMilliseconds(100);
    private TimeSpan _maxDelay = TimeSpan.FromSeconds(30);
    private double _multiplier = 2;
    private double _jitter = 0.2;

    /// <summary>
    /// The most connect attempts in a row, the first included, before the sequence fails with the last attempt's error
    /// (10 by default); <see langword="null"/> for no limit. A connection made resets the count.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? MaxAttempts
    {
        get => _maxAttempts;
        set
        {
            if (value is < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(MaxAttempts), value, "At least one attempt is needed; use null for no limit.");
            }

            _maxAttempts = value;
        }
    }

    /// <summary>The delay after the first failed attempt (100 ms by default), and before reconnecting after a close.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan InitialDelay
    {
        get => _initialDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _initialDelay = value;
        }
    }

    /// <summary>The longest delay between two attempts (30 s by default), however many failed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan MaxDelay
    {
        get => _maxDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _maxDelay = value;
        }
    }

    /// <summary>How much each delay grows after another failure (2 by default: 100 ms, 200 ms, 400 ms, ...).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1 or not a finite number.</exception>
    public double Multiplier
    {
        get => _multiplier;
        set
        {
            if (!double.IsFinite(value) || value < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(Multiplier), value, "The multiplier must be a finite number of at least 1.");
            }

            _multiplier = value;
        }
    }

    /// <summary>
    /// The largest share of a delay taken off at random, from 0 (exact delays) to 1 (anywhere between zero and the
    /// delay, "full jitter"); 0.2 by default. Jitter only shortens: <see cref="MaxDelay"/> stays the longest wait.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 0 and 1.</exception>
    public double Jitter
    {
        get => _jitter;
        set
        {
            if (!(value is >= 0 and <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(Jitter), value, "Jitter must be between 0 and 1.");
            }

            _jitter = value;
        }
    }

    /// <summary>
    /// Where the jitter comes from; <see langword="null"/> (the default) uses <see cref="System.Random.Shared"/>. Give a
    /// seeded <see cref="System.Random"/> for delays a test can predict (it is used under a lock).
    /// </summary>
    public Random? Random { get; set; }

    /// <summary>
    /// Whether a connection that is over (its peer closed, it was reset or timed out, it was closed) is replaced by a
    /// new one, making the sequence the successive connections (Rx's <c>Repeat</c>); <see langword="false"/> by
    /// default (Rx's <c>Retry</c>: only failed connects are tried again, and the sequence completes with its connection).
    /// </summary>
    public bool ReconnectAfterClose { get; set; }

    /// <summary>
    /// Which errors are worth another attempt; <see langword="null"/> (the default) uses <see cref="IsTransient"/>. An
    /// error it refuses ends the sequence at once.
    /// </summary>
    public Func<Exception, bool>? ShouldRetry { get; set; }

    /// <summary>
    /// The delay after <paramref name="failedAttempts"/> failed attempts in a row:
    /// min(<see cref="MaxDelay"/>, <see cref="InitialDelay"/> × <see cref="Multiplier"/>^(<paramref name="failedAttempts"/>−1)),
    /// less a random share of up to <see cref="Jitter"/> of it.
    /// </summary>
    /// <param name="failedAttempts">How many attempts in a row failed; at least 1.</param>
    /// <returns>The delay before the next attempt.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="failedAttempts"/> is less than 1.</exception>
    public TimeSpan GetDelay(int failedAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        double ticks = Math.Min(_maxDelay.Ticks, _initialDelay.Ticks * Math.Pow(_multiplier, failedAttempts - 1));
        if (_jitter > 0)
        {
            ticks *= 1 - (_jitter * NextRandom());
        }

        return TimeSpan.FromTicks((long)Math.Round(ticks));
    }

    /// <summary>
    /// The default <see cref="ShouldRetry"/>: network failures that another attempt may not meet — a
    /// <see cref="SocketException"/> (refused, unreachable, host not found), a <see cref="TimeoutException"/> and an
    /// <see cref="IOException"/>, or an <see cref="AggregateException"/> of only those. Argument errors and a refused
    /// TLS certificate (<see cref="System.Security.Authentication.AuthenticationException"/>) are not transient.
    /// </summary>
    /// <param name="error">The error of a failed attempt.</param>
    /// <returns>Whether to try again.</returns>
    public static bool IsTransient(Exception error) => error switch
    {
        SocketException or TimeoutException or IOException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient),
        _ => false,
    };

    internal bool ShouldTry(Exception error) => (ShouldRetry ?? IsTransient)(error);

    internal void Validate()
    {
        if (_maxDelay < _initialDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), _maxDelay, $"The longest delay must be at least the initial delay ({_initialDelay}).");
        }
    }

    private double NextRandom()
    {
        if (Random is not { } random)
        {
            return System.Random.Shared.NextDouble();
        }

        lock (random)
        {
            return random.NextDouble();
        }
    }
}
