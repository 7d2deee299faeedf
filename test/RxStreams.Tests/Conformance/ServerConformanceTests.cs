using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Conformance;

/// <summary>
/// CPython's <c>Lib/test/test_asyncio/test_server.py</c> (and <c>test_streams.py</c>'s server tests), ported. Each test
/// names the CPython test it ports.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class ServerConformanceTests
{
    private DirectoryInfo _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("rxs-conf-");

    [TearDown]
    public void DeleteDirectory() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    /// <summary>test_wait_closed_basic's handler: read to EOF, then close.</summary>
    private static async Task ReadToEofThenClose(ConnectionReader reader, ConnectionWriter writer)
    {
        try
        {
            await reader.ReadAsync();
        }
        finally
        {
            writer.Close();
            await writer.WaitClosedAsync();
        }
    }

    private static async Task EchoLine(ConnectionReader reader, ConnectionWriter writer)
    {
        writer.Write(await reader.ReadLineAsync());
        await writer.DrainAsync();
        writer.Close();
        await writer.WaitClosedAsync();
    }

    private static async Task<string> ClientAsync(EndPoint endPoint)
    {
        var (reader, writer) = endPoint is UnixDomainSocketEndPoint unix
            ? await Streams.OpenUnixConnectionAsync(unix.ToString()).Within()
            : await Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)endPoint).Port).Within();
        writer.Write(Loopback.Bytes("hello world!\n"));
        var line = await reader.ReadLineAsync().Within();
        writer.Close();
        await writer.WaitClosedAsync().Within();
        return Loopback.Text(line);
    }

    [Test] // test_streams.py test_start_server: with sock= and with host/port
    public async Task StartServer_WithSockAndWithHostPort()
    {
        var sock = Loopback.Listen();
        var server = Streams.StartServer(sock);
        var serving = server.Serve(EchoLine);
        Assert.That(await ClientAsync(server.EndPoints[0]), Is.EqualTo("hello world!\n"));
        serving.Dispose();
        server.Close();
        await server.WaitClosedAsync().Within();

        var second = await Streams.StartServerAsync(EchoLine, "127.0.0.1", 0);
        Assert.That(await ClientAsync(second.EndPoints[0]), Is.EqualTo("hello world!\n"));
        second.Close();
        await second.WaitClosedAsync().Within();
    }

    [Test] // test_streams.py test_start_unix_server
    public async Task StartUnixServer()
    {
        var path = PathOf("echo.sock");
        var server = await Streams.StartUnixServerAsync(EchoLine, path);

        Assert.That(await ClientAsync(new UnixDomainSocketEndPoint(path)), Is.EqualTo("hello world!\n"));
        server.Close();
        await server.WaitClosedAsync().Within();
    }

    [Test] // test_server.py test_start_server_1: start_serving=False, serve_forever, cancel, then "is closed"
    public async Task StartServer1()
    {
        using var cancel = new CancellationTokenSource();
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                await reader.ReadLineAsync();
                await cancel.CancelAsync(); // main_task.cancel()
                writer.Write(Loopback.Bytes("1"));
                writer.Close();
                await writer.WaitClosedAsync();
            },
            "127.0.0.1",
            0,
            new ServerOptions { StartServing = false });
        Assert.That(server.IsServing, Is.False);
        var endPoint = server.EndPoints[0];

        var main = server.ServeForeverAsync(cancel.Token);
        Assert.That(server.IsServing, Is.True);
        using (var client = await Loopback.ConnectRawAsync(endPoint))
        {
            await client.SendAllAsync(new string('1', 5 * 1024) + "\n");
            Assert.That(Loopback.Text(await client.ReceiveToEndAsync()), Is.EqualTo("1"));
        }

        Assert.That(async () => await main.Within(), Throws.InstanceOf<OperationCanceledException>());
        await server.WaitClosedAsync().Within();
        Assert.Multiple(() =>
        {
            Assert.That(server.Sockets, Is.Empty);
            Assert.That(server.IsServing, Is.False);
        });
        var closed = Assert.ThrowsAsync<InvalidOperationException>(async () => await server.ServeForeverAsync());
        Assert.That(closed!.Message, Does.Contain("is closed"));
    }

    [Test] // test_server.py test_start_unix_server_1
    public async Task StartUnixServer1()
    {
        var path = PathOf("s1.sock");
        using var cancel = new CancellationTokenSource();
        var server = await Streams.StartUnixServerAsync(
            async (reader, writer) =>
            {
                await reader.ReadLineAsync();
                await cancel.CancelAsync();
                writer.Write(Loopback.Bytes("1"));
                writer.Close();
                await writer.WaitClosedAsync();
            },
            path,
            new ServerOptions { StartServing = false });
        Assert.That(server.IsServing, Is.False);
        server.StartServing();
        Assert.That(server.IsServing, Is.True);
        var main = server.ServeForeverAsync(cancel.Token);

        var (reader, writer) = await Streams.OpenUnixConnectionAsync(path).Within();
        writer.Write(Loopback.Bytes(new string('1', 5 * 1024) + "\n"));
        Assert.That(Loopback.Text(await reader.ReadAsync().Within()), Is.EqualTo("1"));
        writer.Close();

        Assert.That(async () => await main.Within(), Throws.InstanceOf<OperationCanceledException>());
        await server.WaitClosedAsync().Within();
        Assert.That(server.Sockets, Is.Empty);
        Assert.That(async () => await server.ServeForeverAsync(), Throws.InvalidOperationException.With.Message.Contains("is closed"));
    }

    [Test] // test_server.py test_wait_closed_basic
    public async Task WaitClosed_Basic()
    {
        var server = await Streams.StartServerAsync(ReadToEofThenClose, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);

        // No connections, not closed: blocks.
        var task1 = server.WaitClosedAsync();
        await Task.Yield();
        Assert.That(task1.IsCompleted, Is.False);

        // A connection, not closed: blocks.
        var (_, writer) = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        await WaitForAsync(() => server.ConnectionCount == 1);
        var task2 = server.WaitClosedAsync();
        Assert.That(task1.IsCompleted || task2.IsCompleted, Is.False);

        // Closed, a connection left: blocks.
        server.Close();
        var task3 = server.WaitClosedAsync();
        await Task.Yield();
        Assert.That(task1.IsCompleted || task2.IsCompleted || task3.IsCompleted, Is.False);

        // Closed, no connections: everything completes, and a later wait returns at once.
        writer.Close();
        await writer.WaitClosedAsync().Within();
        await Task.WhenAll(task1, task2, task3).Within();
        Assert.That(server.WaitClosedAsync().IsCompleted, Is.True);
    }

    [Test] // test_server.py test_wait_closed_race (a 3.12.0 regression)
    public async Task WaitClosed_Race()
    {
        var server = await Streams.StartServerAsync(ReadToEofThenClose, "127.0.0.1", 0);
        var task = server.WaitClosedAsync();
        Assert.That(task.IsCompleted, Is.False);
        var (_, writer) = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();

        server.Close();
        writer.Close();

        await server.WaitClosedAsync().Within();
        await task.Within();
    }

    [Test] // test_server.py test_close_clients
    public async Task CloseClients()
    {
        var server = await Streams.StartServerAsync(ReadToEofThenClose, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        await WaitForAsync(() => server.ConnectionCount == 1);

        var task = server.WaitClosedAsync();
        Assert.That(task.IsCompleted, Is.False);

        server.Close();
        server.CloseClients();

        await task.Within();
        Assert.That((await client.Reader.ReadAsync().Within()).IsEmpty, Is.True, "close_clients is graceful: the client sees EOF, not a reset");
    }

    [Test] // test_server.py test_abort_clients: even with the server's writer stuck on a client that does not read
    public async Task AbortClients()
    {
        var accepted = new TaskCompletionSource<ConnectionWriter>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                accepted.TrySetResult(writer);
                await writer.WaitClosedAsync().ContinueWith(static _ => { }, TaskScheduler.Default);
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);
        var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Limit = 4096 }).Within();
        client.Socket!.ReceiveBufferSize = Loopback.SmallSocketBuffer;
        var serverWriter = await accepted.Task.Within();
        serverWriter.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;

        // Fill the kernel buffers and then the writer's own: the client never reads.
        serverWriter.Write(new byte[4 * 1024 * 1024]);
        Assert.That(serverWriter.BufferSize, Is.Positive);

        var task = server.WaitClosedAsync();
        Assert.That(task.IsCompleted, Is.False);

        server.Close();
        server.AbortClients();

        await task.Within();
        client.Abort();
    }

    [Test] // test_server.py test_close_race: close right after a connection was accepted
    public async Task CloseRace()
    {
        var server = await Streams.StartServerAsync(static (_, _) => Task.CompletedTask, "127.0.0.1", 0);
        var connecting = Streams.OpenConnectionAsync("127.0.0.1", server.Port());

        server.Close();
        try
        {
            var client = await connecting.Within();
            client.Abort();
        }
        catch (SocketException)
        {
            // refused: the close won the race
        }

        await server.WaitClosedAsync().Within();
    }

    [Test] // test_server.py test_unix_server_addr_cleanup
    public async Task UnixServer_AddrCleanup()
    {
        var path = PathOf("addr.sock");
        var server = await Streams.StartUnixServerAsync(static (_, _) => Task.CompletedTask, path);

        server.Close();

        Assert.That(File.Exists(path), Is.False);
    }

    [Test] // test_server.py test_unix_server_sock_cleanup: a bound socket handed over (sock=) is cleaned up too
    public async Task UnixServer_SockCleanup()
    {
        var path = PathOf("sock.sock");
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        sock.Bind(new UnixDomainSocketEndPoint(path));

        var server = Streams.StartServer(sock);
        server.Close();
        await server.WaitClosedAsync().Within();

        Assert.That(File.Exists(path), Is.False);
    }

    [Test] // test_server.py test_unix_server_cleanup_gone: someone else already removed the file
    public async Task UnixServer_CleanupGone()
    {
        var path = PathOf("gone.sock");
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        sock.Bind(new UnixDomainSocketEndPoint(path));
        var server = Streams.StartServer(sock);

        File.Delete(path);

        Assert.DoesNotThrow(server.Close);
        await server.WaitClosedAsync().Within();
    }

    [Test] // test_server.py test_unix_server_cleanup_replaced
    public async Task UnixServer_CleanupReplaced()
    {
        var path = PathOf("replaced.sock");
        var server = await Streams.StartUnixServerAsync(static (_, _) => Task.CompletedTask, path);
        File.Delete(path);
        using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        other.Bind(new UnixDomainSocketEndPoint(path));

        server.Close();

        Assert.That(File.Exists(path), Is.True);
    }

    [Test] // test_server.py test_unix_server_cleanup_prevented: cleanup_socket=False
    public async Task UnixServer_CleanupPrevented()
    {
        var path = PathOf("kept.sock");
        var server = await Streams.StartUnixServerAsync(static (_, _) => Task.CompletedTask, path, new ServerOptions { CleanupSocket = false });

        server.Close();

        Assert.That(File.Exists(path), Is.True);
    }

    [TestCase(true)] // test_streams.py test_unhandled_exceptions (3.12): reported, and the connection closed
    [TestCase(false)] // ...and a handler that throws before returning a task (asyncio's plain callback; gh-155941 closes it too)
    public async Task UnhandledExceptions(bool asTask)
    {
        var boom = new DivideByZeroException();
        Func<ConnectionReader, ConnectionWriter, Task> handler = asTask ? (_, _) => Task.FromException(boom) : (_, _) => throw boom;
        var server = await Streams.StartServerAsync(handler, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var first = server.Errors.FirstAsync().ToTask();

        try
        {
            using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
            Assert.That(await client.ReceiveToEndAsync(), Is.Empty);
        }
        catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionReset)
        {
            // RxStreams aborts a failed handler's connection (README, "deliberately differs"); asyncio closes it. The reset
            // can even beat the client's connect. Closed either way.
        }

        Assert.That(await first.Within(), Is.SameAs(boom), "asyncio: 'Unhandled exception in client_connected_cb'");
    }

    [Test] // test_streams.py test_unhandled_cancel (3.13): a cancelled handler's connection is closed, nothing reported
    public async Task UnhandledCancel()
    {
        var errors = new List<Exception>();
        var server = await Streams.StartServerAsync(
            async (_, writer) =>
            {
                writer.Write(Loopback.Bytes("bye"));
                await writer.DrainAsync();
                throw new OperationCanceledException(); // asyncio.current_task().cancel()
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);
        using var errorLog = server.Errors.Subscribe(error => { lock (errors) { errors.Add(error); } });

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        var data = await client.Reader.ReadAsync().Within(); // to EOF: a graceful close, not a reset

        Assert.That(Loopback.Text(data), Is.EqualTo("bye"));
        lock (errors)
        {
            Assert.That(errors, Is.Empty);
        }
    }

    /// <summary>Waits (bounded) for a condition the server reaches asynchronously, such as an accept.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the condition was not reached in time");
            await Task.Delay(5);
        }
    }
}
