namespace RxStreams.Testing.Simulation;

/// <summary>A connect an application asked for, waiting for the next settled moment to send its SYN.</summary>
internal sealed class ConnectRequest(SimulatedHost from, string toHost, int port, ConnectionOptions options, long sequence)
{
    public SimulatedHost From { get; } = from;

    public string ToHost { get; } = toHost;

    public int Port { get; } = port;

    public ConnectionOptions Options { get; } = options;

    /// <summary>Arrival order: the last tiebreak between connects made in the same step.</summary>
    public long Sequence { get; } = sequence;

    /// <summary>Completed by the network on its thread; the application awaits a deferred copy (never inline in a delivery).</summary>
    public TaskCompletionSource<StreamConnection> Completion { get; } = new();

    public int ClientPort { get; set; }

    /// <summary>The connection, once the SYN reached a listener (the application gets it when the SYN-ACK comes back).</summary>
    public SimulatedConnection? Connection { get; set; }
}
