using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// Shared helpers for the real-socket tests: loopback only (127.0.0.1 / ::1, port 0), every wait bounded by
/// <see cref="Timeout"/>, raw peers built on <see cref="Socket"/> so the library is only on the side under test.
/// </summary>
internal static class Loopback
{
    /// <summary>The bound on every wait for a real event (connect, receive, close, process exit).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Kernel buffer size used where a test needs the kernel to fill up quickly (Linux doubles it).</summary>
    public const int SmallSocketBuffer = 64 * 1024;

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(ReadOnlyMemory<byte> data) => Encoding.UTF8.GetString(data.Span);

    public static string Text(byte[] data) => Encoding.UTF8.GetString(data);

    public static Task Within(this Task task) => task.WaitAsync(Timeout);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Timeout);

    public static Task Within(this ValueTask task) => task.AsTask().WaitAsync(Timeout);

    public static Task<T> Within<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Timeout);

    public static int Port(this StreamServer server) => ((IPEndPoint)server.EndPoints[0]).Port;

    /// <summary>
    /// Bounded teardown for a server whose own <c>DisposeAsync</c> would wait for every connection: shut it down with a
    /// short grace period (then abort), failing after <see cref="Timeout"/> rather than hanging the run.
    /// </summary>
    public static IAsyncDisposable Guard(StreamServer server) => new ServerGuard(server);

    private sealed class ServerGuard(StreamServer server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await server.ShutdownAsync(TimeSpan.FromSeconds(1)).WaitAsync(Timeout);
    }

    /// <summary>A deterministic, non-repeating-looking payload so reordering or loss shows up in a comparison.</summary>
    public static byte[] Pattern(int length, int seed = 1)
    {
        var data = new byte[length];
        uint x = (uint)seed * 2654435761u;
        for (int i = 0; i < data.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data[i] = (byte)x;
        }

        return data;
    }

    /// <summary>A listening socket on loopback port 0; accepted sockets inherit <paramref name="receiveBuffer"/>.</summary>
    public static Socket Listen(IPAddress? address = null, int? receiveBuffer = null)
    {
        address ??= IPAddress.Loopback;
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (receiveBuffer is { } size)
            {
                listener.ReceiveBufferSize = size;
            }

            listener.Bind(new IPEndPoint(address, 0));
            listener.Listen(16);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>A raw client socket connected to <paramref name="endPoint"/>, with optional small kernel buffers (set before connecting).</summary>
    public static async Task<Socket> ConnectRawAsync(EndPoint endPoint, int? receiveBuffer = null, int? sendBuffer = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBuffer is { } r)
            {
                socket.ReceiveBufferSize = r;
            }

            if (sendBuffer is { } s)
            {
                socket.SendBufferSize = s;
            }

            await socket.ConnectAsync(endPoint).WaitAsync(Timeout);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static async Task SendAllAsync(this Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None).AsTask().WaitAsync(Timeout);
            data = data[sent..];
        }
    }

    public static Task SendAllAsync(this Socket socket, string text) => socket.SendAllAsync(Bytes(text));

    /// <summary>Receives until the peer's EOF (bounded by <see cref="Timeout"/> per receive and <paramref name="maxBytes"/> in total).</summary>
    public static async Task<byte[]> ReceiveToEndAsync(this Socket socket, int maxBytes = 64 * 1024 * 1024)
    {
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (received.Length <= maxBytes)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Timeout);
            if (n == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, n);
        }

        throw new InvalidOperationException($"More than {maxBytes} bytes arrived without an EOF.");
    }

    public static async Task<byte[]> ReceiveExactlyAsync(this Socket socket, int count)
    {
        var data = new byte[count];
        int have = 0;
        while (have < count)
        {
            int n = await socket.ReceiveAsync(data.AsMemory(have), SocketFlags.None).AsTask().WaitAsync(Timeout);
            if (n == 0)
            {
                throw new EndOfStreamException($"EOF after {have} of {count} bytes.");
            }

            have += n;
        }

        return data;
    }

    /// <summary>Closes <paramref name="socket"/> with an RST (linger on, timeout 0): the peer sees a connection reset.</summary>
    public static void Reset(this Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Dispose();
    }

    /// <summary>Whether an IPv6 loopback socket can be bound on this machine.</summary>
    public static bool IPv6LoopbackAvailable()
    {
        if (!Socket.OSSupportsIPv6)
        {
            return false;
        }

        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>An RxStreams client connection (the side under test) and the raw socket it is connected to.</summary>
internal sealed class ClientAndPeer : IAsyncDisposable
{
    private ClientAndPeer(StreamConnection connection, Socket peer)
    {
        Connection = connection;
        Peer = peer;
    }

    public StreamConnection Connection { get; }

    public ConnectionReader Reader => Connection.Reader;

    public ConnectionWriter Writer => Connection.Writer;

    /// <summary>The raw accepted socket on the other end.</summary>
    public Socket Peer { get; }

    public static async Task<ClientAndPeer> OpenAsync(ConnectionOptions? options = null, int? peerReceiveBuffer = null)
    {
        using var listener = Loopback.Listen(receiveBuffer: peerReceiveBuffer);
        var accepting = listener.AcceptAsync();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var connection = await Streams.OpenConnectionAsync("127.0.0.1", port, options).Within();
        Socket peer;
        try
        {
            peer = await accepting.Within();
        }
        catch
        {
            connection.Abort();
            throw;
        }

        return new ClientAndPeer(connection, peer);
    }

    public async ValueTask DisposeAsync()
    {
        Peer.Dispose();
        Connection.Abort();
        await Connection.DisposeAsync().AsTask().Within();
    }
}

/// <summary>An observer that records what a reader pushes, with tasks for the first chunk and the end.</summary>
internal sealed class RecordingObserver : IObserver<ReadOnlyMemory<byte>>
{
    private readonly Lock _gate = new();
    private readonly List<byte> _data = [];
    private readonly TaskCompletionSource _firstChunk = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Exception?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inOnNext;

    public int ChunkCount { get; private set; }

    /// <summary>Set if two notifications ever overlapped (the Rx grammar forbids it).</summary>
    public bool Overlapped { get; private set; }

    /// <summary>Set if a notification came after OnCompleted/OnError.</summary>
    public bool NotifiedAfterEnd { get; private set; }

    /// <summary>Runs inside OnNext after the chunk is recorded (for example to block the reader's loop).</summary>
    public Action<ReadOnlyMemory<byte>>? OnEachChunk { get; init; }

    public Task FirstChunk => _firstChunk.Task;

    /// <summary>Completes at OnCompleted (null) or OnError (the error).</summary>
    public Task<Exception?> Done => _done.Task;

    public byte[] Data
    {
        get
        {
            lock (_gate)
            {
                return _data.ToArray();
            }
        }
    }

    public void OnNext(ReadOnlyMemory<byte> value)
    {
        if (Interlocked.Exchange(ref _inOnNext, 1) != 0)
        {
            Overlapped = true;
        }

        try
        {
            lock (_gate)
            {
                NotifiedAfterEnd |= _done.Task.IsCompleted;
                _data.AddRange(value.Span);
                ChunkCount++;
            }

            _firstChunk.TrySetResult();
            OnEachChunk?.Invoke(value);
        }
        finally
        {
            Volatile.Write(ref _inOnNext, 0);
        }
    }

    public void OnError(Exception error)
    {
        NotifiedAfterEnd |= !_done.TrySetResult(error);
    }

    public void OnCompleted()
    {
        NotifiedAfterEnd |= !_done.TrySetResult(null);
    }
}

/// <summary>The seed page's programs written in C# on RxStreams, printing what the Python originals print.</summary>
internal static class SeedPrograms
{
    /// <summary>Python's <c>repr()</c> of a simple ASCII string without quotes or escapes.</summary>
    public static string Repr(string text) => $"'{text}'";

    /// <summary>Python's socket address tuple for an IPv4 or IPv6 endpoint.</summary>
    public static string Address(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint { AddressFamily: AddressFamily.InterNetworkV6 } ip => $"('{ip.Address}', {ip.Port}, 0, 0)",
        IPEndPoint ip => $"('{ip.Address}', {ip.Port})",
        _ => "None",
    };

    /// <summary>
    /// The seed's <c>handle_echo</c>:
    /// <code>
    /// data = await reader.read(100); message = data.decode(); addr = writer.get_extra_info('peername')
    /// print(f"Received {message!r} from {addr!r}"); print(f"Send: {message!r}")
    /// writer.write(data); await writer.drain(); print("Close the connection"); writer.close()
    /// </code>
    /// </summary>
    public static Func<ConnectionReader, ConnectionWriter, Task> HandleEcho(TextWriter output) => async (reader, writer) =>
    {
        var data = await reader.ReadAsync(100);
        string message = Loopback.Text(data);
        var addr = writer.GetExtraInfo("peername") as EndPoint;

        output.WriteLine($"Received {Repr(message)} from {Address(addr)}");

        output.WriteLine($"Send: {Repr(message)}");
        writer.Write(data);
        await writer.DrainAsync();

        output.WriteLine("Close the connection");
        writer.Close();
    };

    /// <summary>The seed's <c>tcp_echo_client(message)</c> against <paramref name="host"/>:<paramref name="port"/>.</summary>
    public static async Task TcpEchoClientAsync(string message, string host, int port, TextWriter output)
    {
        var (reader, writer) = await Streams.OpenConnectionAsync(host, port).Within();

        output.WriteLine($"Send: {Repr(message)}");
        writer.Write(Loopback.Bytes(message));

        var data = await reader.ReadAsync(100).Within();
        output.WriteLine($"Received: {Repr(Loopback.Text(data))}");

        output.WriteLine("Close the connection");
        writer.Close();
        await writer.WaitClosedAsync().Within();
    }

    /// <summary>The lines written so far to a <see cref="StringWriter"/>-backed log.</summary>
    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
}
