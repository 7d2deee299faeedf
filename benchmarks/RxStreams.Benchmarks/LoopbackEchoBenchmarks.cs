using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.Baselines;
using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

// Loopback echo benchmarks: each class is one load shape, each [Benchmark] method one server (by its
// EchoServerCatalog name), and the hand-written raw Socket + Pipelines server is the baseline (Ratio = 1).
// Each server runs in its own process (ChildProcessEchoServer), so the Allocated column is the client's alone: the
// clients rent their buffers and allocate a few objects per connection. RXSTREAMS_BENCH_SERVERS=in-process puts the
// servers back in the benchmark process (the column then includes them); benchmarks/cpu-per-line.sh measures a
// server's own CPU and allocation per line.
//
// RxStreams variants (EchoServerCatalog): RxStreamsPush is the CLI's `echo --lines` server (reader.Lines().Subscribe(writer),
// bulk: reader.Subscribe(writer)); RxStreamsPull is the handler form (await foreach line + Write, drain only when paused;
// bulk: ReadAsync(65536) + Write). Adding another: one catalog entry plus one method per class, by the same name.

/// <summary>One connection keeping 64 lines in flight: per-line cost of a single pipelined stream.</summary>
[MemoryDiagnoser]
public class LineEcho1ConnBenchmarks : EchoServerBenchmarks
{
    private const int Lines = 200_000;
    private readonly LineEchoClient _client = new();

    private protected override EchoMode Mode => EchoMode.Lines;

    [Benchmark(Baseline = true, OperationsPerInvoke = Lines)]
    public Task<long> RawPipelines() => RunAsync(EchoServerCatalog.RawPipelines);

    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> NetworkStream() => RunAsync(EchoServerCatalog.NetworkStream);

    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> Kestrel() => RunAsync(EchoServerCatalog.Kestrel);

    // ---- RxStreams variants.
    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> RxStreamsPush() => RunAsync(EchoServerCatalog.RxStreamsPush);

    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> RxStreamsPull() => RunAsync(EchoServerCatalog.RxStreamsPull);

    private Task<long> RunAsync(string server) =>
        _client.RunAsync(PortOf(server), connections: 1, outstanding: 64, Lines, CancellationToken.None);
}

/// <summary>Fifty connections with 16 lines in flight each: many concurrent streams sharing two cores.</summary>
[MemoryDiagnoser]
public class LineEcho50ConnBenchmarks : EchoServerBenchmarks
{
    private const int Lines = 200_000;
    private readonly LineEchoClient _client = new();

    private protected override EchoMode Mode => EchoMode.Lines;

    [Benchmark(Baseline = true, OperationsPerInvoke = Lines)]
    public Task<long> RawPipelines() => RunAsync(EchoServerCatalog.RawPipelines);

    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> NetworkStream() => RunAsync(EchoServerCatalog.NetworkStream);

    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> Kestrel() => RunAsync(EchoServerCatalog.Kestrel);

    // ---- RxStreams variants.
    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> RxStreamsPush() => RunAsync(EchoServerCatalog.RxStreamsPush);

    [Benchmark(OperationsPerInvoke = Lines)]
    public Task<long> RxStreamsPull() => RunAsync(EchoServerCatalog.RxStreamsPull);

    private Task<long> RunAsync(string server) =>
        _client.RunAsync(PortOf(server), connections: 50, outstanding: 16, Lines, CancellationToken.None);
}

/// <summary>One line in flight on one connection: round-trip latency, nothing to batch.</summary>
[MemoryDiagnoser]
public class PingPongBenchmarks : EchoServerBenchmarks
{
    private const int RoundTrips = 5_000;
    private readonly PingPongClient _client = new();

    private protected override EchoMode Mode => EchoMode.Lines;

    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTrips)]
    public Task<long> RawPipelines() => RunAsync(EchoServerCatalog.RawPipelines);

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public Task<long> NetworkStream() => RunAsync(EchoServerCatalog.NetworkStream);

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public Task<long> Kestrel() => RunAsync(EchoServerCatalog.Kestrel);

    // ---- RxStreams variants.
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public Task<long> RxStreamsPush() => RunAsync(EchoServerCatalog.RxStreamsPush);

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public Task<long> RxStreamsPull() => RunAsync(EchoServerCatalog.RxStreamsPull);

    private Task<long> RunAsync(string server) => _client.RunAsync(PortOf(server), RoundTrips, CancellationToken.None);
}

/// <summary>256 MiB echoed without framing: raw byte throughput. One operation is the whole 256 MiB.</summary>
[MemoryDiagnoser]
public class BulkEchoBenchmarks : EchoServerBenchmarks
{
    private const long Bytes = 256L * 1024 * 1024;
    private readonly BulkClient _client = new();

    private protected override EchoMode Mode => EchoMode.Bulk;

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

    private Task<long> RunAsync(string server) => _client.RunAsync(PortOf(server), Bytes, CancellationToken.None);
}

/// <summary>Connect, echo one line, close, sequentially: the per-connection cost of each server.</summary>
[MemoryDiagnoser]
public class ConnectRateBenchmarks : EchoServerBenchmarks
{
    private const int Connections = 500;
    private readonly ConnectRateClient _client = new();

    private protected override EchoMode Mode => EchoMode.Lines;

    [Benchmark(Baseline = true, OperationsPerInvoke = Connections)]
    public Task<long> RawPipelines() => RunAsync(EchoServerCatalog.RawPipelines);

    [Benchmark(OperationsPerInvoke = Connections)]
    public Task<long> NetworkStream() => RunAsync(EchoServerCatalog.NetworkStream);

    [Benchmark(OperationsPerInvoke = Connections)]
    public Task<long> Kestrel() => RunAsync(EchoServerCatalog.Kestrel);

    // ---- RxStreams variants.
    [Benchmark(OperationsPerInvoke = Connections)]
    public Task<long> RxStreamsPush() => RunAsync(EchoServerCatalog.RxStreamsPush);

    [Benchmark(OperationsPerInvoke = Connections)]
    public Task<long> RxStreamsPull() => RunAsync(EchoServerCatalog.RxStreamsPull);

    private Task<long> RunAsync(string server) => _client.RunAsync(PortOf(server), Connections, CancellationToken.None);

    // Every method starts with the ephemeral-port table the previous one left drained (see TimeWaitDrain).
    private protected override Task BeforeFirstRunAsync() => TimeWaitDrain.WaitAsync();
}
