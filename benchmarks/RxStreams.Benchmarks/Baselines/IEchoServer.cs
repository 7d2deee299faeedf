namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// A running loopback echo server that a benchmark client can connect to.
/// Every implementation binds 127.0.0.1 on port 0 (so parallel runs never collide) and reports
/// the port the OS picked. Disposing stops accepting, closes live connections and waits for them.
/// </summary>
internal interface IEchoServer : IAsyncDisposable
{
    /// <summary>The TCP port the server is listening on, on 127.0.0.1.</summary>
    int Port { get; }
}
