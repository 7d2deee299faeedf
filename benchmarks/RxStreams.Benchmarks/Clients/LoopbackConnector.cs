using System.Net;
using System.Net.Sockets;

namespace RxStreams.Benchmarks.Clients;

/// <summary>How every client opens a connection, and the send loop they all use.</summary>
internal static class LoopbackConnector
{
    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/> with Nagle off: the clients send small lines and wait
    /// for their echo, and a delayed send would measure TCP timers instead of the server.
    /// </summary>
    public static async Task<Socket> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends all of <paramref name="bytes"/>; a TCP send may in principle take only part of them.</summary>
    public static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[sent..];
        }
    }
}
