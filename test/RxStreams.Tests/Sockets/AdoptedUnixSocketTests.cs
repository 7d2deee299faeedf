using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Framing;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// Issue 11 item 4: a Unix socket handed to <see cref="Streams.StartServer(Socket, ServerOptions?)"/> follows
/// <see cref="ServerOptions.CleanupSocket"/> and the "still ours" inode check (asyncio 3.13's <c>cleanup_socket</c>,
/// which applies to <c>sock=</c> too), instead of the runtime's unconditional unlink.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class AdoptedUnixSocketTests
{
    private DirectoryInfo _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("rxs-adopt-");

    [TearDown]
    public void DeleteDirectory() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    private static Socket BoundUnixSocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    [Test]
    public async Task AdoptedSocket_WithCleanupSocketOff_KeepsItsFile()
    {
        var path = PathOf("kept.sock");
        var server = Streams.StartServer(BoundUnixSocket(path), new ServerOptions { CleanupSocket = false });

        await server.DisposeAsync();

        Assert.That(File.Exists(path), Is.True, "cleanup_socket=False: the file stays");
    }

    [Test]
    public async Task AdoptedSocket_ReplacedByAnotherServer_LeavesTheNewFileAlone()
    {
        var path = PathOf("replaced.sock");
        var server = Streams.StartServer(BoundUnixSocket(path));
        File.Delete(path);
        await using var other = await Streams.StartUnixServerAsync(static (_, writer) => { writer.WriteLine("other"); return Task.CompletedTask; }, path);

        await server.DisposeAsync();

        Assert.That(File.Exists(path), Is.True, "another server's socket file is not ours to remove");
        await using var client = await Streams.OpenUnixConnectionAsync(path).Within();
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("other\n"), "the other server still answers");
    }

    [Test]
    public async Task AdoptedSocket_ByDefault_RemovesItsOwnFile()
    {
        var path = PathOf("own.sock");
        var server = Streams.StartServer(BoundUnixSocket(path));
        await using (var client = await Streams.OpenUnixConnectionAsync(path).Within())
        {
        }

        await server.DisposeAsync();

        Assert.That(File.Exists(path), Is.False);
    }
}
