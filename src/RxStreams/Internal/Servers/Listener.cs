using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// One bound server socket, and what must happen when it closes (a Unix socket file we created is removed, and only
/// if it is still ours).
/// </summary>
internal sealed class Listener : IDisposable
{

    private readonly string? _unixPath;
    private readonly ulong _unixInode;

    private Listener(Socket socket, string? unixPath)
    {
        Socket = socket;
        EndPoint = socket.LocalEndPoint!;
        if (unixPath is not null && UnixFileStat.TryGet(unixPath, out _, out ulong inode))
        {
            _unixPath = unixPath;
            _unixInode = inode;
        }
    }

    public Socket Socket { get; }

    /// <summary>
    /// Serves on a socket the caller bound (asyncio's <c>sock=</c>). A Unix socket's file is removed on close as for a
    /// path we bound (Python 3.13 applies <c>cleanup_socket</c> to <c>sock=</c> too): only with
    /// <paramref name="cleanup"/>, and only if it is still the inode it was when adopted. The runtime's own unlink at
    /// dispose, which would remove whatever file has the name by then, is switched off.
    /// </summary>
    public static Listener Adopt(Socket socket, bool cleanup)
    {
        string? unixPath = null;
        if (socket.AddressFamily == AddressFamily.Unix && socket.LocalEndPoint is UnixDomainSocketEndPoint local &&
            local.ToString() is { Length: > 0 } path && path[0] is not ('\0' or '@'))
        {
            RuntimeUnlink.Disable(socket, local);
            unixPath = cleanup ? path : null;
        }

        return new(socket, unixPath);
    }

    public EndPoint EndPoint { get; }

    /// <summary>Whether accepted sockets are TCP (so <c>TCP_NODELAY</c> and keep-alive apply).</summary>
    public bool IsTcp => Socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;

    /// <summary>Binds TCP sockets for each address; skips addresses this host does not have (asyncio's EADDRNOTAVAIL rule).</summary>
    public static Listener[] BindTcp(IReadOnlyList<IPAddress> addresses, int port, ServerOptions options)
    {
        var bound = new List<Listener>();
        try
        {
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    if (address.AddressFamily == AddressFamily.InterNetworkV6)
                    {
                        socket.DualMode = false; // IPV6_V6ONLY, as asyncio: IPv4 gets its own socket
                    }

                    ReuseOptions.Apply(socket, options.ReuseAddress, options.ReusePort);

                    if (options.KeepAlive)
                    {
                        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                    }

                    BindOrExplain(socket, new IPEndPoint(address, port));
                    bound.Add(new Listener(socket, null));
                }
                catch (SocketException error) when (error.SocketErrorCode == SocketError.AddressNotAvailable)
                {
                    socket.Dispose();
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            if (bound.Count == 0)
            {
                throw new SocketException((int)SocketError.AddressNotAvailable, $"could not bind on any address out of [{string.Join(", ", addresses.Select(a => new IPEndPoint(a, port)))}]");
            }

            return [.. bound];
        }
        catch
        {
            foreach (var listener in bound)
            {
                listener.Socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Binds; "address already in use" names the endpoint (asyncio: "error while attempting to bind on address ...").
    /// Still a <see cref="SocketException"/> with <see cref="SocketError.AddressAlreadyInUse"/>, so callers that catch
    /// the error code keep working; only the message gains the endpoint.
    /// </summary>
    private static void BindOrExplain(Socket socket, EndPoint endPoint)
    {
        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException error) when (error.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse, $"error while attempting to bind on address {endPoint}: address already in use");
        }
    }

    /// <summary>
    /// Binds a Unix socket. A socket file left by a dead server is replaced; a live one (something accepts on it) is
    /// not taken over (asyncio unlinks it anyway, gh-121252). Abstract names (leading NUL or '@') create no file. With
    /// <paramref name="cleanup"/> (<see cref="ServerOptions.CleanupSocket"/>), closing removes the file if it is still ours.
    /// </summary>
    public static Listener BindUnix(string path, bool cleanup = true)
    {
        var endPoint = UnixEndPoint(path, out string? filePath);
        if (filePath is not null && UnixFileStat.TryGet(filePath, out bool isSocket, out _) && isSocket)
        {
            if (IsLive(endPoint))
            {
                throw new SocketException((int)SocketError.AddressAlreadyInUse, $"Address '{path}' is already in use by a live server");
            }

            File.Delete(filePath); // stale: its server is gone. (A regular file is left alone: bind then fails, as in asyncio.)
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(filePath is null ? endPoint : new UnclaimedUnixEndPoint(endPoint));
            return new Listener(socket, cleanup ? filePath : null);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The endpoint for a Unix path; <paramref name="filePath"/> is null for an abstract name.</summary>
    public static UnixDomainSocketEndPoint UnixEndPoint(string path, out string? filePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path[0] is '\0' or '@')
        {
            filePath = null;
            return new UnixDomainSocketEndPoint("\0" + path[1..]);
        }

        filePath = path;
        return new UnixDomainSocketEndPoint(path);
    }

    /// <summary>Starts listening; an adopted socket that already listens keeps its backlog.</summary>
    public void Listen(int backlog)
    {
        if (!IsListening())
        {
            Socket.Listen(backlog);
        }
    }

    private bool IsListening() => (int)Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)! != 0;

    public void Dispose()
    {
        Socket.Dispose();

        // Python 3.13's cleanup_socket: remove the file only if it is still the inode we created (someone may have
        // replaced it since).
        if (_unixPath is not null)
        {
            try
            {
                if (UnixFileStat.TryGet(_unixPath, out bool isSocket, out ulong inode) && isSocket && inode == _unixInode)
                {
                    File.Delete(_unixPath);
                }
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                // Someone else's file now, or already gone: not ours to clean.
            }
        }
    }

    private static bool IsLive(EndPoint endPoint)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(endPoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
