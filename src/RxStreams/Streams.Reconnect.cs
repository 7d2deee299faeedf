using System.Net;
using System.Reactive.Concurrency;
using RxStreams.Internal.Connect;

namespace RxStreams;

// Resilient clients: the cold connect over several endpoints with a reconnect policy. The type's docs are in Streams.cs.
public static partial class Streams
{
    /// <summary>
    /// The cold <see cref="Connect(string, int, ConnectionOptions?)"/> over several endpoints, with a reconnect policy:
    /// each attempt tries the endpoints in order and uses the first that connects; an attempt that fails on all of
    /// them is repeated after the policy's backoff, on <see cref="ConnectionOptions.Scheduler"/>, up to
    /// <see cref="ReconnectPolicy.MaxAttempts"/> attempts in a row.
    /// </summary>
    /// <param name="endPoints">Where to connect, in order of preference: <see cref="IPEndPoint"/>, <see cref="DnsEndPoint"/>
    /// (each of a host's addresses is tried, with Happy Eyeballs if the options ask) or <see cref="System.Net.Sockets.UnixDomainSocketEndPoint"/>.</param>
    /// <param name="options">Connection options, shared by every attempt (<see cref="ConnectionOptions.ConnectTimeout"/> bounds each endpoint's connect);
    /// <see langword="null"/> for the defaults.</param>
    /// <param name="reconnect">The attempts, the backoff and whether a connection that ended is replaced (see <see cref="ReconnectPolicy"/>).</param>
    /// <returns>
    /// A cold observable. By default it emits one connection and completes when that connection is over, as
    /// <see cref="Connect(string, int, ConnectionOptions?)"/> does; with <see cref="ReconnectPolicy.ReconnectAfterClose"/>
    /// it emits a new connection each time the one before is over. It fails with the last attempt's error when the
    /// attempts run out or the error is not worth retrying (<see cref="ReconnectPolicy.ShouldRetry"/>).
    /// Each connection is closed when it is over or when the subscription is disposed.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="endPoints"/> or <paramref name="reconnect"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="endPoints"/> is empty or holds an endpoint of another kind.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The policy's <see cref="ReconnectPolicy.MaxDelay"/> is below its <see cref="ReconnectPolicy.InitialDelay"/>.</exception>
    public static IObservable<StreamConnection> Connect(IEnumerable<EndPoint> endPoints, ConnectionOptions? options, ReconnectPolicy reconnect)
    {
        ArgumentNullException.ThrowIfNull(endPoints);
        ArgumentNullException.ThrowIfNull(reconnect);
        var targets = EndPointWalk.Check(endPoints, nameof(endPoints));
        options ??= new ConnectionOptions();
        return ColdConnect.Create(cancellationToken => EndPointWalk.OpenAsync(targets, options, cancellationToken))
            .Reconnect(reconnect, options.Scheduler);
    }

    /// <summary>
    /// Makes a cold connect observable (such as <see cref="Connect(string, int, ConnectionOptions?)"/>) resilient: a
    /// failed connect is retried after the policy's backoff (Rx's <c>Retry</c>) and, with
    /// <see cref="ReconnectPolicy.ReconnectAfterClose"/>, a connection that is over is replaced (Rx's <c>Repeat</c>).
    /// </summary>
    /// <param name="connect">A cold observable that connects on each subscription.</param>
    /// <param name="policy">The attempts, the backoff and whether a connection that ended is replaced.</param>
    /// <param name="scheduler">Where the delays run; <see langword="null"/> for <see cref="DefaultScheduler.Instance"/>.
    /// Pass the connection options' <see cref="ConnectionOptions.Scheduler"/> to test in virtual time.</param>
    /// <returns>The resilient observable (see <see cref="ReconnectPolicy"/> for its semantics).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="connect"/> or <paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The policy's <see cref="ReconnectPolicy.MaxDelay"/> is below its <see cref="ReconnectPolicy.InitialDelay"/>.</exception>
    public static IObservable<StreamConnection> Reconnect(this IObservable<StreamConnection> connect, ReconnectPolicy policy, IScheduler? scheduler = null)
    {
        ArgumentNullException.ThrowIfNull(connect);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        return ReconnectingConnect<StreamConnection>.Create(connect, policy, scheduler ?? DefaultScheduler.Instance);
    }
}
