using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.Baselines;
using RxStreams.Benchmarks.Clients;
using RxStreams.Benchmarks.Reporting;

namespace RxStreams.Benchmarks;

/// <summary>
/// The loopback echo benchmarks, declared once: each <c>[Benchmark]</c> method is one server (by its
/// <see cref="EchoServerCatalog"/> name), the hand-written raw Socket + Pipelines server is the baseline (Ratio = 1),
/// and each derived class is one load shape (<see cref="LoadShapes"/>), inheriting the methods. Every server of the
/// catalog starts once per benchmark process and stops at the end; idle servers only sit in a pending accept, which
/// costs no CPU and allocates nothing during measurement.
/// </summary>
/// <remarks>
/// <para>
/// One invocation is one run of the shape, since an inherited method cannot carry a per-shape
/// <c>OperationsPerInvoke</c>: Mean and Allocated are per run, and the Rate, Time/op and Server CPU/op columns
/// (<see cref="EchoOperationColumn"/>) divide by the shape's operations per run. Ratio is the same either way.
/// </para>
/// <para>
/// By default each server runs in its own process (<see cref="ChildProcessEchoServer"/>), as servers and an outside
/// load generator do, so Allocated is the client's alone and Server CPU/op is the server process's own CPU time per
/// operation. <c>RXSTREAMS_BENCH_SERVERS=in-process</c> runs them inside the benchmark process instead, where Allocated
/// includes the servers and Server CPU/op is not available (<c>benchmarks/scripts/cpu-per-line.sh</c> reports a
/// server's allocation per line).
/// </para>
/// <para>
/// RxStreams variants: RxStreamsPush is the CLI's <c>echo --lines</c> server (<c>reader.Lines().Subscribe(writer)</c>;
/// raw bulk: <c>reader.Subscribe(writer)</c>); RxStreamsPull is the handler form (<c>await foreach</c> line +
/// <c>Write</c>, drain only when paused; raw bulk: <c>ReadAsync(65536)</c> + <c>Write</c>). Adding a server is one
/// catalog entry plus one method here, by the same name; adding a shape is one <see cref="LoadShapes"/> entry and a
/// class of a few lines.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(EchoBenchmarkConfig))]
public abstract class EchoServerBenchmarks
{
    private readonly Dictionary<string, IEchoServer> _servers = [];
    private readonly Dictionary<string, long> _runs = [];
    private readonly Dictionary<string, TimeSpan> _serverCpuAtStart = [];

    /// <summary>Where the servers run: <c>RXSTREAMS_BENCH_SERVERS</c> = <c>separate</c> (the default) or <c>in-process</c>.</summary>
    public static bool ServersInProcess =>
        string.Equals(Environment.GetEnvironmentVariable("RXSTREAMS_BENCH_SERVERS"), "in-process", StringComparison.OrdinalIgnoreCase);

    /// <summary>The load every method of the class puts on its server.</summary>
    internal abstract LoadShape Shape { get; }

    [Benchmark(Baseline = true)]
    public Task<long> RawPipelines() => RunAsync(EchoServerCatalog.RawPipelines);

    [Benchmark]
    public Task<long> NetworkStream() => RunAsync(EchoServerCatalog.NetworkStream);

    [Benchmark]
    public Task<long> Kestrel() => RunAsync(EchoServerCatalog.Kestrel);

    // ---- RxStreams variants.
    [Benchmark]
    public Task<long> RxStreamsPush() => RunAsync(EchoServerCatalog.RxStreamsPush);

    [Benchmark]
    public Task<long> RxStreamsPull() => RunAsync(EchoServerCatalog.RxStreamsPull);

    [GlobalSetup]
    public async Task StartServersAsync()
    {
        foreach (var (name, startAsync) in EchoServerCatalog.All)
        {
            _servers[name] = ServersInProcess ? await startAsync(Shape.Mode) : await ChildProcessEchoServer.StartAsync(name, Shape.Mode);
        }

        await BeforeFirstRunAsync();
        foreach (var (name, server) in _servers)
        {
            if (server is ChildProcessEchoServer child)
            {
                _serverCpuAtStart[name] = child.ProcessorTime;
            }
        }
    }

    [GlobalCleanup]
    public async Task StopServersAsync()
    {
        foreach (var (name, runs) in _runs)
        {
            if (_servers[name] is ChildProcessEchoServer child)
            {
                ServerCpuRecords.Write(BenchmarkType, name, child.ProcessorTime - _serverCpuAtStart[name], runs * Shape.OperationsPerRun);
            }
        }

        foreach (var server in _servers.Values)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
        _runs.Clear();
    }

    /// <summary>
    /// The benchmark class as the summary knows it: BenchmarkDotNet runs a generated class derived from it, in an
    /// assembly of its own, so <c>GetType()</c> is not it.
    /// </summary>
    private Type BenchmarkType
    {
        get
        {
            var type = GetType();
            while (type.Assembly != typeof(EchoServerBenchmarks).Assembly)
            {
                type = type.BaseType!;
            }

            return type;
        }
    }

    /// <summary>The shape of a benchmark class, for the summary's columns.</summary>
    internal static LoadShape ShapeOf(Type benchmarkType) => ((EchoServerBenchmarks)Activator.CreateInstance(benchmarkType)!).Shape;

    /// <summary>Runs once the servers are up, before the benchmark's first iteration.</summary>
    private protected virtual Task BeforeFirstRunAsync() => Task.CompletedTask;

    private Task<long> RunAsync(string server)
    {
        _runs[server] = _runs.GetValueOrDefault(server) + 1;
        return Shape.RunAsync(_servers[server].Port, false /* content unchecked: counted only */, CancellationToken.None);
    }
}
