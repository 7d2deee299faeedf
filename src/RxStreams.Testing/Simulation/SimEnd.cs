namespace RxStreams.Testing.Simulation;

/// <summary>
/// One end of a simulated connection: the application's <see cref="StreamConnection"/> and, joined to it in memory, the
/// network's own end ("the NIC") through which the link reads what the application sends and writes what it receives.
/// </summary>
internal sealed class SimEnd(SimulatedHost host, int port)
{
    public SimulatedHost Host { get; } = host;

    public int Port { get; } = port;

    public string Name { get; } = host.Name + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What the application holds.</summary>
    public StreamConnection App { get; set; } = null!;

    /// <summary>The network's side of the application's socket.</summary>
    public StreamConnection Nic { get; set; } = null!;

    /// <summary>The network ended this socket itself (a reset, a crash): the end of its input is not the application's FIN.</summary>
    public volatile bool Terminated;

    /// <summary>Its host crashed: the socket is gone without a word; once the host is back, what reaches it is answered with a reset.</summary>
    public bool Vanished { get; set; }
}
