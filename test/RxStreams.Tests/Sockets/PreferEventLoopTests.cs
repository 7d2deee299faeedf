using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Internal;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// <see cref="ConnectionOptions.PreferEventLoop"/> through the public entry points: a server's and a client's push
/// subscribers run on one of the library's event loops (ADR 0016), and everything still arrives; without the option
/// they run on the thread pool. The channel's own ways to lose a wake are in <see cref="EventLoopChannelTests"/>.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PreferEventLoopTests
{
    private const string LoopThreadPrefix = "RxStreams event loop";

    [SetUp]
    public void OnlyWhereTheLoopsExist() => Assume.That(EventLoop.IsSupported, "epoll on Linux x86-64 only");

    [TestCase(true)]
    [TestCase(false)]
    public async Task ServerOption_PushSubscribersRunOnALoopThread_OnlyWhenAskedFor(bool prefer)
    {
        Assume.That(prefer || !EventLoop.IsSelected, "RXSTREAMS_CHANNEL=eventloop puts every socket on a loop");
        var onLoop = new List<bool>();
        await using var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { PreferEventLoop = prefer });
        using var serving = server.Subscribe(connection =>
        {
            connection.Reader.Lines().Do(_ => { lock (onLoop) { onLoop.Add(IsLoopThread()); } }).Subscribe(connection.Writer);
            connection.Writer.Write(Loopback.Bytes("ready\n"));
        });

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port());

        // A read that finds bytes already there runs on the subscribing thread; only one that waited resumes on the
        // loop. So the lines go out once the server's reader is subscribed, and every one of them arrives after a wait.
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("ready\n"));
        var lines = Enumerable.Range(0, 200).Select(static i => $"line {i}\n").ToArray();
        foreach (var line in lines)
        {
            client.Writer.Write(Loopback.Bytes(line));
        }

        client.Writer.WriteEof();
        var echoed = await client.Reader.ReadAsync().Within(); // asyncio read(): to the end

        Assert.That(Loopback.Text(echoed), Is.EqualTo(string.Concat(lines)), "every line echoed, in order");
        Assert.That(onLoop, Is.Not.Empty.And.All.EqualTo(prefer));
    }

    [Test]
    public async Task ClientOption_TheClientsPushReaderRunsOnALoopThread()
    {
        await using var server = await Streams.StartServerAsync(
            static async (reader, writer) =>
            {
                await reader.ReadLineAsync(); // the client's reader is subscribed by now: the greeting arrives after a wait
                writer.Write(Loopback.Bytes("hello\n"));
                await writer.DrainAsync();
            },
            "127.0.0.1",
            0);

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { PreferEventLoop = true });
        var first = client.Reader.Lines()
            .Select(line => (Text: Loopback.Text(line), OnLoop: IsLoopThread()))
            .FirstAsync().ToTask();
        client.Writer.Write(Loopback.Bytes("go\n"));
        var seen = await first.Within();

        Assert.That(seen.Text, Is.EqualTo("hello\n"));
        Assert.That(seen.OnLoop, Is.True);
    }

    private static bool IsLoopThread() => Thread.CurrentThread.Name?.StartsWith(LoopThreadPrefix, StringComparison.Ordinal) == true;
}
