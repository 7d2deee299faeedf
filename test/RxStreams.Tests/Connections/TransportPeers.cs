using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using RxStreams.Tests.Sockets;
using RxStreams.Tests.Tls;

namespace RxStreams.Tests.Connections;

/// <summary>
/// The other end of a <see cref="TransportPair"/>: sends, half-closes, resets and receives as a raw peer would, whatever
/// the transport. Every method but <see cref="SendAsync"/> is bounded by <see cref="Loopback.Timeout"/>.
/// </summary>
internal abstract class TransportPeer : IAsyncDisposable
{
    public abstract EndPoint? LocalEndPoint { get; }

    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>The peer's socket (the TCP socket under a TLS peer); <see langword="null"/> in memory.</summary>
    public abstract Socket? Socket { get; }

    /// <summary>Sends all of <paramref name="data"/> without a time bound: under backpressure it stalls, as a send does.</summary>
    public abstract Task SendAsync(ReadOnlyMemory<byte> data);

    public Task SendAllAsync(ReadOnlyMemory<byte> data) => SendAsync(data).Within();

    public Task SendAllAsync(string text) => SendAllAsync(Loopback.Bytes(text));

    /// <summary>Ends the peer's sending: FIN (after close_notify on TLS), or the in-memory end's <c>WriteEof</c>.</summary>
    public abstract Task ShutdownSendAsync();

    /// <summary>Resets the connection: an RST (linger 0), or the in-memory end's <c>Abort</c>.</summary>
    public abstract void Reset();

    /// <summary>Receives up to <paramref name="buffer"/>'s length; 0 at EOF.</summary>
    protected abstract Task<int> ReceiveAsync(Memory<byte> buffer);

    /// <summary>Receives until EOF (bounded per receive and by <paramref name="maxBytes"/> in total).</summary>
    public async Task<byte[]> ReceiveToEndAsync(int maxBytes = 64 * 1024 * 1024)
    {
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (received.Length <= maxBytes)
        {
            int n = await ReceiveAsync(buffer).Within();
            if (n == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, n);
        }

        throw new InvalidOperationException($"More than {maxBytes} bytes arrived without an EOF.");
    }

    public async Task<byte[]> ReceiveExactlyAsync(int count)
    {
        var data = new byte[count];
        int have = 0;
        while (have < count)
        {
            int n = await ReceiveAsync(data.AsMemory(have)).Within();
            if (n == 0)
            {
                throw new EndOfStreamException($"EOF after {have} of {count} bytes.");
            }

            have += n;
        }

        return data;
    }

    public abstract ValueTask DisposeAsync();
}

/// <summary>A raw TCP or Unix socket peer.</summary>
internal sealed class SocketPeer(Socket socket) : TransportPeer
{
    public override EndPoint? LocalEndPoint => socket.LocalEndPoint;

    public override EndPoint? RemoteEndPoint => socket.RemoteEndPoint;

    public override Socket Socket => socket;

    public override async Task SendAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None);
            data = data[sent..];
        }
    }

    public override Task ShutdownSendAsync()
    {
        socket.Shutdown(SocketShutdown.Send);
        return Task.CompletedTask;
    }

    public override void Reset() => socket.Reset();

    protected override Task<int> ReceiveAsync(Memory<byte> buffer) => socket.ReceiveAsync(buffer, SocketFlags.None).AsTask();

    public override ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A TLS server peer: <see cref="SslStream"/> over a raw accepted socket, with <see cref="TestCertificates.Server"/>.</summary>
internal sealed class TlsPeer : TransportPeer
{
    private readonly Socket _socket;
    private readonly SslStream _ssl;

    private TlsPeer(Socket socket)
    {
        _socket = socket;
        _ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
    }

    public override EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    public override EndPoint? RemoteEndPoint => _socket.RemoteEndPoint;

    public override Socket Socket => _socket;

    public static async Task<TlsPeer> AuthenticateAsync(Socket socket)
    {
        var peer = new TlsPeer(socket);
        try
        {
            await peer._ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = TestCertificates.Server }).Within();
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }

    public override async Task SendAsync(ReadOnlyMemory<byte> data)
    {
        await _ssl.WriteAsync(data);
        await _ssl.FlushAsync();
    }

    public override async Task ShutdownSendAsync()
    {
        await _ssl.ShutdownAsync().Within(); // close_notify
        _socket.Shutdown(SocketShutdown.Send);
    }

    public override void Reset() => _socket.Reset();

    protected override Task<int> ReceiveAsync(Memory<byte> buffer) => _ssl.ReadAsync(buffer).AsTask();

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await _ssl.DisposeAsync();
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            // The socket may be reset already; nothing is left to release but the socket.
        }

        _socket.Dispose();
    }
}

/// <summary>
/// The in-memory pair's other end as a peer. Its water marks are 0/0, so a send's drain returns only once every byte is
/// in the pipe, as a socket send returns once the kernel has the bytes (an abort right after loses none of them).
/// </summary>
internal sealed class ConnectionPeer : TransportPeer
{
    private const int SendChunk = 64 * 1024;
    private readonly StreamConnection _end;

    public ConnectionPeer(StreamConnection end)
    {
        _end = end;
        _end.Writer.SetWriteBufferLimits(0, 0);
    }

    public override EndPoint? LocalEndPoint => _end.LocalEndPoint;

    public override EndPoint? RemoteEndPoint => _end.RemoteEndPoint;

    public override Socket? Socket => null;

    public override async Task SendAsync(ReadOnlyMemory<byte> data)
    {
        for (int offset = 0; offset < data.Length; offset += SendChunk)
        {
            _end.Writer.Write(data.Slice(offset, Math.Min(SendChunk, data.Length - offset)));
            await _end.Writer.DrainAsync();
        }
    }

    public override Task ShutdownSendAsync()
    {
        _end.Writer.WriteEof();
        return Task.CompletedTask;
    }

    public override void Reset() => _end.Abort();

    protected override async Task<int> ReceiveAsync(Memory<byte> buffer)
    {
        var data = await _end.Reader.ReadAsync(buffer.Length);
        data.CopyTo(buffer);
        return data.Length;
    }

    public override async ValueTask DisposeAsync()
    {
        _end.Abort();
        await _end.DisposeAsync().AsTask().Within();
    }
}
