namespace RxStreams.Testing.Simulation;

/// <summary>A port a host listens on; disposing it stops accepting.</summary>
internal sealed class SimulatedListener(SimulatedHost host, int port, Action<StreamConnection> accept, ConnectionOptions options) : IDisposable
{
    public SimulatedHost Host { get; } = host;

    public int Port { get; } = port;

    public Action<StreamConnection> Accept { get; } = accept;

    public ConnectionOptions Options { get; } = options;

    public void Dispose() => Host.Remove(this);
}
