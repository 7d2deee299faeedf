using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>Fifty connections with 16 lines in flight each: many concurrent streams sharing two cores.</summary>
public class LineEcho50ConnBenchmarks : EchoServerBenchmarks
{
    internal override LoadShape Shape => LoadShapes.LineEcho50Conn;
}
