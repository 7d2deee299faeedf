using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using RxStreams.Tests.Sockets;
using RxStreams.Tests.Tls;

namespace RxStreams.Tests.Connections;

/// <summary>The transports the reader and writer suites run on: one test body, one fixture per value.</summary>
public enum TransportKind
{
    /// <summary>TCP on 127.0.0.1, port 0.</summary>
    Tcp,

    /// <summary>A Unix domain socket in a temporary directory.</summary>
    Unix,

    /// <summary><see cref="InMemoryConnection.CreatePair"/>: no socket at all.</summary>
    InMemory,

    /// <summary>TLS over TCP on 127.0.0.1 with the test certificates.</summary>
    Tls,
}

/// <summary>
/// Makes connected pairs on every <see cref="TransportKind"/>: the RxStreams connection under test and the peer on its
/// other end. Socket peers are raw sockets (a TLS peer is an <see cref="SslStream"/> on one), so the library is only on
/// the side under test; the in-memory peer is the pair's other end, the only thing an in-memory connection talks to.
/// </summary>
internal static class TransportKit
{
    /// <summary>
    /// An RxStreams client connection on <paramref name="kind"/> and its peer. <paramref name="smallBuffers"/> caps the
    /// kernel buffers on both sides at <see cref="Loopback.SmallSocketBuffer"/> (the in-memory pair's transfer capacity
    /// is that size already), so that a side that stops reading stalls the other quickly.
    /// </summary>
    public static async Task<TransportPair> OpenAsync(TransportKind kind, ConnectionOptions? options = null, bool smallBuffers = false)
    {
        if (kind == TransportKind.InMemory)
        {
            var (client, server) = InMemoryConnection.CreatePair(options, Loopback.SmallSocketBuffer);
            return new TransportPair(kind, client, new ConnectionPeer(server), directory: null);
        }

        options ??= new ConnectionOptions();
        DirectoryInfo? directory = null;
        Socket listener;
        if (kind == TransportKind.Unix)
        {
            directory = Directory.CreateTempSubdirectory("rxs-");
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(directory.FullName, "s.sock")));
            listener.Listen(16);
        }
        else
        {
            listener = Loopback.Listen();
            if (kind == TransportKind.Tls)
            {
                options.Tls = TestCertificates.TrustingClient();
            }
        }

        Task<Socket>? accepting = null;
        try
        {
            if (smallBuffers)
            {
                listener.ReceiveBufferSize = Loopback.SmallSocketBuffer; // accepted sockets inherit it
            }

            accepting = listener.AcceptAsync();
            var connecting = kind == TransportKind.Unix
                ? Streams.OpenUnixConnectionAsync(((UnixDomainSocketEndPoint)listener.LocalEndPoint!).ToString(), options)
                : Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, options);
            TransportPeer peer;
            StreamConnection connection;
            try
            {
                // A connect that fails (invalid options, say) fails before anyone is accepted.
                await Task.WhenAny(accepting, connecting).Within();
                if (connecting.IsFaulted)
                {
                    await connecting;
                }

                var socket = await accepting.Within();
                if (kind != TransportKind.Unix)
                {
                    // As a raw client's: without it Nagle can hold a send behind the handshake's unacknowledged last
                    // segment, and a reset right after it (linger 0) would discard the held bytes.
                    socket.NoDelay = true;
                }

                if (smallBuffers)
                {
                    socket.SendBufferSize = Loopback.SmallSocketBuffer;
                }

                peer = kind == TransportKind.Tls ? await TlsPeer.AuthenticateAsync(socket) : new SocketPeer(socket);
                connection = await connecting.Within();
            }
            catch
            {
                Observe(connecting);
                throw;
            }

            if (smallBuffers)
            {
                connection.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
                connection.Socket.ReceiveBufferSize = Loopback.SmallSocketBuffer;
            }

            return new TransportPair(kind, connection, peer, directory);
        }
        catch
        {
            directory?.Delete(recursive: true);
            throw;
        }
        finally
        {
            listener.Dispose();
            if (accepting is not null)
            {
                Observe(accepting); // it fails with the listener if nobody connected
            }
        }
    }

    /// <summary>
    /// Two RxStreams connections joined on <paramref name="kind"/>: a client and the connection a <see cref="StreamServer"/>
    /// (or the in-memory pair) gives the server side. For behaviour that needs the library on both ends.
    /// </summary>
    public static async Task<LibraryPair> OpenLibraryPairAsync(TransportKind kind)
    {
        if (kind == TransportKind.InMemory)
        {
            var (client, server) = InMemoryConnection.CreatePair();
            return new LibraryPair(client, server, null, null);
        }

        DirectoryInfo? directory = kind == TransportKind.Unix ? Directory.CreateTempSubdirectory("rxs-") : null;
        var path = directory is null ? null : Path.Combine(directory.FullName, "s.sock");
        var serverOptions = new ServerOptions { Tls = kind == TransportKind.Tls ? TestCertificates.ServerOptions() : null };
        var listening = path is null
            ? await Streams.StartServerAsync("127.0.0.1", 0, serverOptions).Within()
            : await Streams.StartUnixServerAsync(path, serverOptions).Within();
        try
        {
            var accepted = listening.FirstAsync().ToTask();
            var clientOptions = new ConnectionOptions { Tls = kind == TransportKind.Tls ? TestCertificates.TrustingClient() : null };
            var client = path is null
                ? await Streams.OpenConnectionAsync("127.0.0.1", listening.Port(), clientOptions).Within()
                : await Streams.OpenUnixConnectionAsync(path, clientOptions).Within();
            return new LibraryPair(client, await accepted.Within(), listening, directory);
        }
        catch
        {
            await Loopback.Guard(listening).DisposeAsync();
            directory?.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every 10 ms until it holds, failing after <see cref="Loopback.Timeout"/>. For
    /// states that raise no event (a writer's pause); the test waits for the state itself, not for a guessed time.
    /// </summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(10);
        }
    }

    private static void Observe(Task task) => task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
}

/// <summary>The connection under test, its peer, and what must be cleaned up with them.</summary>
internal sealed class TransportPair(TransportKind kind, StreamConnection connection, TransportPeer peer, DirectoryInfo? directory) : IAsyncDisposable
{
    public TransportKind Kind { get; } = kind;

    public StreamConnection Connection { get; } = connection;

    public ConnectionReader Reader => Connection.Reader;

    public ConnectionWriter Writer => Connection.Writer;

    /// <summary>The other end.</summary>
    public TransportPeer Peer { get; } = peer;

    /// <summary>
    /// The peer resets the connection: an RST on TCP, <c>Abort</c> in memory. A Unix socket has no RST; Linux reports
    /// ECONNRESET to the other end when a socket is closed with unread data, so on Unix our side first leaves the peer a
    /// byte it never reads.
    /// </summary>
    public async Task ResetPeerAsync()
    {
        if (Kind == TransportKind.Unix)
        {
            Writer.Write([0]);
            await TransportKit.WaitUntilAsync(() => Peer.Socket!.Available > 0, "the peer has an unread byte");
        }

        Peer.Reset();
    }

    public async ValueTask DisposeAsync()
    {
        await Peer.DisposeAsync();
        Connection.Abort();
        await Connection.DisposeAsync().AsTask().Within();
        directory?.Delete(recursive: true);
    }
}

/// <summary>Two RxStreams connections on one transport, and the server that accepted one of them (none in memory).</summary>
internal sealed class LibraryPair(StreamConnection client, StreamConnection server, StreamServer? listening, DirectoryInfo? directory) : IAsyncDisposable
{
    public StreamConnection Client { get; } = client;

    public StreamConnection Server { get; } = server;

    public async ValueTask DisposeAsync()
    {
        Client.Abort();
        Server.Abort();
        await Client.DisposeAsync().AsTask().Within();
        await Server.DisposeAsync().AsTask().Within();
        if (listening is not null)
        {
            await Loopback.Guard(listening).DisposeAsync();
        }

        directory?.Delete(recursive: true);
    }
}
