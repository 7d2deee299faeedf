using RxStreams.Benchmarks.Baselines;

namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// One load shape: what a client does to an echo server in one run, and what counts as one operation of it, so the
/// BenchmarkDotNet classes and the separate-process script (<c>--shape</c>) measure and report the same thing.
/// </summary>
/// <param name="Name">Short name, as <c>--shape</c> takes it.</param>
/// <param name="Description">What the shape is, for tables.</param>
/// <param name="Mode">How the server must echo: framing lines or raw bytes.</param>
/// <param name="Unit">One operation: a line, a round trip, an MB (10^6 bytes) or a connection.</param>
/// <param name="OperationsPerRun">Operations in one run (a fraction for bulk sizes that are not whole MB).</param>
/// <param name="RunAsync">One run against 127.0.0.1:port, with its content verified or not (the smoke test verifies).</param>
internal sealed record LoadShape(
    string Name,
    string Description,
    EchoMode Mode,
    string Unit,
    double OperationsPerRun,
    Func<int, bool, CancellationToken, Task<long>> RunAsync);
