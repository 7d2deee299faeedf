using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace RxStreams.Internal;

/// <summary>
/// Switches off .NET's unlink of a Unix socket file at <see cref="Socket.Dispose()"/>. A socket bound with a
/// <see cref="UnixDomainSocketEndPoint"/> remembers the file and deletes it when disposed (or finalized), whoever's file
/// it is by then and whatever <see cref="ServerOptions.CleanupSocket"/> says. For a socket handed to
/// <see cref="Streams.StartServer(Socket, ServerOptions?)"/> the server makes that decision instead (by inode, as
/// asyncio 3.13), so the socket's remembered endpoint is swapped for one that names the same path but owns no file.
/// </summary>
internal static class RuntimeUnlink
{
    /// <summary>Makes <paramref name="socket"/> forget that it created its file; false if this runtime keeps it elsewhere.</summary>
    public static bool Disable(Socket socket, UnixDomainSocketEndPoint local)
    {
        try
        {
            ref EndPoint? remembered = ref BoundEndPoint(socket);
            if (remembered is UnixDomainSocketEndPoint)
            {
                remembered = local; // built from getsockname: same path, no file to delete
            }

            return true;
        }
        catch (MissingFieldException)
        {
            return false; // another runtime's layout: its own unlink stays (the old behaviour)
        }
    }

    // The endpoint Socket.Bind stores (System.Net.Sockets, .NET 6 to 10); Dispose deletes its BoundFileName.
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_rightEndPoint")]
    private static extern ref EndPoint? BoundEndPoint(Socket socket);
}
