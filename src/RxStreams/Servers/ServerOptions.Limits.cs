namespace RxStreams;

// The connection-flood defence of a server (docs/adr/0014-listener-loss-and-connection-cap.md). The type's docs are in
// ServerOptions.cs.
public sealed partial class ServerOptions
{
    private int? _maxConnections;

    /// <summary>
    /// The most connections the server holds open at once. <see langword="null"/> (the default) takes
    /// <see cref="DefaultMaxConnections"/>, derived from the process's descriptor limit; set
    /// <see cref="int.MaxValue"/> for no cap. At the cap the server stops accepting: new clients wait in the OS backlog
    /// (<see cref="Backlog"/>; beyond it the kernel refuses or drops them) and are accepted as soon as a connection closes.
    /// </summary>
    /// <remarks>
    /// A flood of connections otherwise runs the process into its descriptor limit, where accepting fails and the .NET
    /// runtime itself can fail ("Out of memory." at <c>RLIMIT_NOFILE</c>, seen with a plain <c>Socket</c> accept loop
    /// too). The default keeps a headroom below <c>ulimit -n</c>; a process with several servers, or many descriptors
    /// of its own, should set a cap that fits. If accepting still fails for want of descriptors (EMFILE, ENFILE), the
    /// server backs off (10 ms doubling to 1 s between attempts, one log line and one <see cref="StreamServer.Errors"/>
    /// report per episode) and accepts again once descriptors are free. The cap is checked before each accept, so with
    /// several listening sockets it can be passed by one connection per extra listening socket (one accept loop each).
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

    /// <summary>
    /// The cap a server takes when <see cref="MaxConnections"/> is <see langword="null"/>: the soft descriptor limit
    /// (<c>RLIMIT_NOFILE</c>, read when the server starts) less a headroom of 64 plus an eighth of the limit for the
    /// runtime and the rest of the application (so 160 at <c>ulimit -n 256</c>, 832 at 1024). <see langword="null"/>
    /// (no cap) where the limit is unlimited or not known (Windows).
    /// </summary>
    public static int? DefaultMaxConnections => Internal.DescriptorLimit.Current() is { } limit ? Internal.DescriptorLimit.ConnectionCapFor(limit) : null;
}
