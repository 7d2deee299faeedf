using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.Baselines;

namespace RxStreams.Benchmarks;

/// <summary>
/// Common base of the loopback echo benchmarks: starts every server of <see cref="EchoServerCatalog"/> once per
/// benchmark process and stops them at the end. Starting them all (rather than only the one a benchmark method
/// uses) keeps a new variant down to one catalog entry and one <c>[Benchmark]</c> method; idle servers only sit
/// in a pending accept, which costs no CPU and allocates nothing during measurement.
/// </summary>
/// <remarks>
/// By default each server runs in its own process (<see cref="ChildProcessEchoServer"/>), as servers and an outside
/// load generator do; <c>RXSTREAMS_BENCH_SERVERS=in-process</c> runs them inside the benchmark process instead, where
/// the Allocated column includes the servers (with separate processes it is the client's alone; the servers'
/// allocation per line is what <c>benchmarks/cpu-per-line.sh</c> reports).
/// </remarks>
public abstract class EchoServerBenchmarks
{
    private readonly Dictionary<string, IEchoServer> _servers = [];

    /// <summary>Whether the servers frame lines or echo raw bytes in this benchmark class.</summary>
    private protected abstract EchoMode Mode { get; }

    /// <summary>Where the servers run: <c>RXSTREAMS_BENCH_SERVERS</c> = <c>separate</c> (the default) or <c>in-process</c>.</summary>
    public static bool ServersInProcess =>
        string.Equals(Environment.GetEnvironmentVariable("RXSTREAMS_BENCH_SERVERS"), "in-process", StringComparison.OrdinalIgnoreCase);

    [GlobalSetup]
    public async Task StartServersAsync()
    {
        foreach (var (name, startAsync) in EchoServerCatalog.All)
        {
            _servers[name] = ServersInProcess ? await startAsync(Mode) : await ChildProcessEchoServer.StartAsync(name, Mode);
        }

        await BeforeFirstRunAsync();
    }

    /// <summary>Runs once the servers are up, before the benchmark's first iteration.</summary>
    private protected virtual Task BeforeFirstRunAsync() => Task.CompletedTask;

    [GlobalCleanup]
    public async Task StopServersAsync()
    {
        foreach (var server in _servers.Values)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    /// <summary>The port of a started server, by its <see cref="EchoServerCatalog"/> name.</summary>
    private protected int PortOf(string server) => _servers[server].Port;
}
