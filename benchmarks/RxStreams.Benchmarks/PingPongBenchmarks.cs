using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>One line in flight on one connection: round-trip latency, nothing to batch.</summary>
public class PingPongBenchmarks : EchoServerBenchmarks
{
    internal override LoadShape Shape => LoadShapes.PingPong;
}
