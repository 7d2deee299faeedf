using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>One connection keeping 64 lines in flight: per-line cost of a single pipelined stream.</summary>
public class LineEcho1ConnBenchmarks : EchoServerBenchmarks
{
    internal override LoadShape Shape => LoadShapes.LineEcho1Conn;
}
