using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>
/// 16 KiB lines echoed as lines, sending and receiving concurrently on one connection: framing at full throughput
/// (the servers frame every line, where <see cref="BulkEchoBenchmarks"/> echoes raw chunks). One run is 256 MiB
/// (<c>RXSTREAMS_BENCH_BULK_MIB</c>; the outside harness sends 512); one operation is an MB.
/// </summary>
public class BulkLineEchoBenchmarks : EchoServerBenchmarks
{
    internal override LoadShape Shape => LoadShapes.BulkLines;
}
