using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>Connect, echo one line, close, sequentially: the per-connection cost of each server.</summary>
public class ConnectRateBenchmarks : EchoServerBenchmarks
{
    internal override LoadShape Shape => LoadShapes.ConnectSequential;

    // Every method starts with the ephemeral-port table the previous one left drained (see TimeWaitDrain).
    private protected override Task BeforeFirstRunAsync() => TimeWaitDrain.WaitAsync();
}
