using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>
/// Raw bytes echoed without framing, sending and receiving concurrently on one connection: the byte path alone.
/// One run is 256 MiB (<c>RXSTREAMS_BENCH_BULK_MIB</c>); one operation is an MB.
/// </summary>
public class BulkEchoBenchmarks : EchoServerBenchmarks
{
    internal override LoadShape Shape => LoadShapes.BulkRaw;
}
