namespace RxStreams;

// The Unix socket file settings of a server. The type's docs are in ServerOptions.cs.
public sealed partial class ServerOptions
{
    /// <summary>
    /// Python 3.13's <c>cleanup_socket</c>: whether closing a Unix domain socket server removes its socket file (when it
    /// is still the file the server bound, by inode, so one someone else re-created is left alone). On by default; it
    /// applies to a path given to <see cref="Streams.StartUnixServerAsync(string, ServerOptions?, CancellationToken)"/> and,
    /// as in asyncio, to a bound socket handed to <see cref="Streams.StartServer(System.Net.Sockets.Socket, ServerOptions?)"/>.
    /// Abstract names have no file.
    /// </summary>
    public bool CleanupSocket { get; set; } = true;
}
