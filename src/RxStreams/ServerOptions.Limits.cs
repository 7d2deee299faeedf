namespace RxStreams;

// The connection-flood defence of a server (docs/adr/0014-listener-loss-and-connection-cap.md). The type's docs are in
// ConnectionOptions.cs.
public sealed partial class ServerOptions
{
    private int? _maxConnections;

    /// <summary>
    /// The most connections the server holds open at once; <see langword="null"/> (the default) has no cap. At the cap
    /// the server stops accepting: new clients wait in the OS backlog (<see cref="Backlog"/>; beyond it the kernel
    /// refuses or drops them) and are accepted as soon as a connection closes.
    /// </summary>
    /// <remarks>
    /// A flood of connections otherwise runs the process into its descriptor limit, where accepting fails and the .NET
    /// runtime itself can fail ("Out of memory." at <c>RLIMIT_NOFILE</c>, seen with a plain <c>Socket</c> accept loop
    /// too). Set the cap well below <c>ulimit -n</c>. The cap is checked before each accept, so with several listening
    /// sockets or subscribers it can be passed by one connection per extra accept loop.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? MaxConnections
    {
        get => _maxConnections;
        set
        {
            if (value is { } max)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
            }

            _maxConnections = value;
        }
    }
}
