using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// <c>SO_REUSEADDR</c> and <c>SO_REUSEPORT</c> set one by one. .NET's <see cref="SocketOptionName.ReuseAddress"/> sets
/// both on Unix, so two servers could bind one port and silently split its clients; here the first only lets a port in
/// TIME_WAIT be bound again, and port sharing happens only with <see cref="ServerOptions.ReusePort"/>.
/// </summary>
internal static class ReuseOptions
{
    // The raw values: Linux, then the BSDs and macOS (SOL_SOCKET 0xffff, SO_REUSEADDR 4, SO_REUSEPORT 0x200).
    private const int LinuxSolSocket = 1, LinuxSoReuseAddr = 2, LinuxSoReusePort = 15;
    private const int BsdSolSocket = 0xffff, BsdSoReuseAddr = 4, BsdSoReusePort = 0x200;

    /// <summary>Applies <paramref name="reuseAddress"/> and <paramref name="reusePort"/> to a socket before it binds.</summary>
    /// <exception cref="PlatformNotSupportedException"><paramref name="reusePort"/> on Windows, which has no SO_REUSEPORT.</exception>
    public static void Apply(Socket socket, bool reuseAddress, bool reusePort)
    {
        if (OperatingSystem.IsWindows())
        {
            // Windows's SO_REUSEADDR lets another socket take a port that is in use (port theft), and Windows needs no
            // option to rebind a port in TIME_WAIT: leave it off, as asyncio does on Windows.
            if (reusePort)
            {
                throw new PlatformNotSupportedException("SO_REUSEPORT (ServerOptions.ReusePort) is not supported on Windows.");
            }

            return;
        }

        bool linux = OperatingSystem.IsLinux() || OperatingSystem.IsAndroid();
        int level = linux ? LinuxSolSocket : BsdSolSocket;
        if (reuseAddress)
        {
            socket.SetRawSocketOption(level, linux ? LinuxSoReuseAddr : BsdSoReuseAddr, BitConverter.GetBytes(1));
        }

        if (reusePort)
        {
            socket.SetRawSocketOption(level, linux ? LinuxSoReusePort : BsdSoReusePort, BitConverter.GetBytes(1));
        }
    }
}
