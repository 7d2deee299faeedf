using System.Net.Sockets;
using NUnit.Framework;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// asyncio's open_unix_connection / start_unix_server, with Python 3.13's cleanup_socket and the stale-file rules. What
/// a Unix connection does once open (pull, push, writer, half-close) is the transport matrix of the reader and writer
/// suites (<see cref="Connections.TransportKind.Unix"/>).
/// </summary>
[TestFixture]
public sealed class UnixSocketTests
{
    private DirectoryInfo _directory = null!;

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("rxs-");

    [TearDown]
    public void DeleteDirectory() => _directory.Delete(recursive: true);

    [Test]
    public async Task Close_RemovesTheSocketFile() // Python 3.13 cleanup_socket
    {
        var path = PathOf("clean.sock");
        var server = await Streams.StartUnixServerAsync(path);
        Assert.That(File.Exists(path), Is.True);
        await server.DisposeAsync();
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public async Task Close_LeavesAFileSomeoneElseRecreated() // cleanup only if the inode is still ours
    {
        var path = PathOf("replaced.sock");
        var server = await Streams.StartUnixServerAsync(path);
        File.Delete(path);
        using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        other.Bind(new UnixDomainSocketEndPoint(path)); // someone else's socket now
        await server.DisposeAsync();
        Assert.That(File.Exists(path), Is.True);
    }

    [Test]
    public async Task StaleFile_FromADeadServer_IsReplaced() // asyncio unlinks an existing socket file before bind
    {
        var path = PathOf("stale.sock");
        // A server that died leaves its file behind (.NET unlinks on dispose, so a python3 process makes the stale file).
        var python = Interop.ChildProcess.FindOnPath("python3");
        Assume.That(python, Is.Not.Null);
        await using (var dead = Interop.ChildProcess.Start(python!, ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]))
        {
            Assert.That(await dead.WaitForExitAsync(), Is.Zero);
        }

        Assert.That(File.Exists(path), Is.True);
        var server = await Streams.StartUnixServerAsync(path);
        await using var guard = Loopback.Guard(server);
        using var echo = server.Subscribe(c => c.Reader.Subscribe(c.Writer));
        await using var connection = await Streams.OpenUnixConnectionAsync(path).Within();
        connection.Writer.Write(Loopback.Bytes("x"));
        Assert.That(Loopback.Text(await connection.Reader.ReadAsync(1).Within()), Is.EqualTo("x"));
    }

    [Test]
    public async Task LiveServer_IsNotTakenOver() // better than asyncio (gh-121252): a live socket is not unlinked
    {
        var path = PathOf("live.sock");
        var first = await Streams.StartUnixServerAsync(path);
        await using var guard = Loopback.Guard(first);
        var error = Assert.ThrowsAsync<SocketException>(() => Streams.StartUnixServerAsync(path));
        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }

    [Test]
    public async Task RegularFile_AtThePath_FailsToBind() // asyncio: OSError(EADDRINUSE) for a regular file
    {
        var path = PathOf("regular");
        await File.WriteAllTextAsync(path, "not a socket");
        Assert.ThrowsAsync<SocketException>(() => Streams.StartUnixServerAsync(path));
        Assert.That(await File.ReadAllTextAsync(path), Is.EqualTo("not a socket"), "left alone");
    }

    [Test]
    public async Task AbstractName_NoFile() // Linux abstract namespace: leading NUL (or '@')
    {
        var name = "@rxstreams-test-" + Guid.NewGuid().ToString("N");
        var server = await Streams.StartUnixServerAsync(name);
        await using var guard = Loopback.Guard(server);
        using var echo = server.Subscribe(c => c.Reader.Subscribe(c.Writer));
        await using var connection = await Streams.OpenUnixConnectionAsync("\0" + name[1..]).Within();
        connection.Writer.Write(Loopback.Bytes("abstract"));
        Assert.That(Loopback.Text(await connection.Reader.ReadExactlyAsync(8).Within()), Is.EqualTo("abstract"));
    }

    [Test]
    public void MissingPath_ConnectFails() // asyncio: FileNotFoundError
    {
        var error = Assert.ThrowsAsync<SocketException>(() => Streams.OpenUnixConnectionAsync(PathOf("missing.sock")));
        Assert.That(error!.SocketErrorCode, Is.AnyOf(SocketError.AddressNotAvailable, SocketError.ConnectionRefused));
    }

    [Test]
    public async Task Cli_EchoLinesOverUnix_WithNetcat() // rxstreams echo --unix PATH --lines, driven by nc -U
    {
        var nc = Interop.ChildProcess.FindOnPath("nc");
        Assume.That(nc, Is.Not.Null, "netcat-openbsd (installed by .ci/run)");
        var path = PathOf("cli.sock");
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");
        await using var server = Interop.ChildProcess.Start(Interop.ChildProcess.DotnetHost(), [cli, "echo", "--unix", path, "--lines"]);
        await server.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal));

        await using var client = Interop.ChildProcess.Start(nc!, ["-N", "-U", path], redirectStdin: true);
        await client.StandardInput.WriteAsync("first\nsecond\n");
        client.StandardInput.Close(); // EOF: nc -N half-closes, the server half-closes back, nc exits
        Assert.That(await client.WaitForExitAsync(), Is.Zero, client.Transcript);
        Assert.That(client.StdoutLines, Is.EqualTo(new[] { "first", "second" }));
    }
}
