using System.Net.Sockets;
using System.Reactive.Concurrency;
using RxStreams.Testing;

namespace RxStreams.Tests.Simulation;

/// <summary>
/// A client as applications write them: one connection, reopened after a failure with exponential backoff and jitter,
/// and every exchange bounded by a timeout; all in the simulation's virtual time (the timeout is a
/// <see cref="CancellationTokenSource"/> cancelled by the network's scheduler, the backoff is <see cref="SimulatedNetwork.Delay"/>).
/// </summary>
/// <remarks>Kept in the tests until the library has a reconnect policy of its own.</remarks>
internal sealed class ReconnectingClient(SimulatedNetwork network, string host, string server, int port) : IDisposable
{
    private readonly Random _random = network.CreateRandom("client:" + host);
    private StreamConnection? _connection;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>What went wrong, in order, with virtual times: part of a run's deterministic outcome.</summary>
    public List<string> Failures { get; } = [];

    /// <summary>Runs <paramref name="exchange"/> on the connection until it succeeds, reconnecting as needed; gives up at <paramref name="giveUpAt"/>.</summary>
    public async Task<T> ExchangeAsync<T>(Func<StreamConnection, CancellationToken, Task<T>> exchange, TimeSpan giveUpAt)
    {
        var backoff = InitialBackoff;
        while (true)
        {
            if (network.Now > giveUpAt)
            {
                throw new TimeoutException($"{host} gave up at {network.Now} after: {string.Join("; ", Failures)}");
            }

            using var timeout = new CancellationTokenSource();
            using var timer = network.Scheduler.Schedule(Timeout, timeout.Cancel);
            try
            {
                _connection ??= await network.Host(host).ConnectAsync(server, port, new ConnectionOptions(), timeout.Token);
                return await exchange(_connection, timeout.Token);
            }
            catch (Exception error) when (error is IOException or SocketException or OperationCanceledException or TimeoutException or InvalidOperationException)
            {
                Failures.Add($"{network.Now.TotalMilliseconds:0.###}ms {error.GetType().Name}");
                _connection?.Abort();
                _connection = null;
            }

            var jittered = TimeSpan.FromTicks((long)(backoff.Ticks * (0.5 + _random.NextDouble())));
            await network.Delay(jittered);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _connection = null;
    }
}
