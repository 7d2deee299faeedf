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
/// <remarks>
/// A push reader resumes on the loop once it has waited for data; a read that finds bytes already there runs wherever
/// the reader is (the subscribing thread at first). Which lines arrive before the first wait depends on timing (a
/// reader preempted after its echo may find the next ping already queued), so the tests assert what timing cannot
/// change: in a ping-pong of <see cref="RoundTrips"/> lines the reader reaches the loop, and once there it never leaves
/// it (nothing in an echo waits anywhere else).
/// </remarks>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PreferEventLoopTests
{
    private const int RoundTrips = 20;
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
            connection.Reader.Lines().Do(_ => { lock (onLoop) { onLoop.Add(IsLoopThread()); } }).Subscribe(connection.Writer));

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port());
        for (int i = 0; i < RoundTrips; i++)
        {
            client.Writer.Write(Loopback.Bytes($"ping {i}\n"));
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo($"ping {i}\n"));
        }

        lock (onLoop)
        {
            Assert.That(onLoop, Has.Count.EqualTo(RoundTrips));
            if (prefer)
            {
                AssertReachesTheLoopAndStays(onLoop);
            }
            else
            {
                Assert.That(onLoop, Is.All.False, "without the option no line is handled on a loop");
            }
        }
    }

    [Test]
    public async Task ClientOption_TheClientsPushReaderRunsOnALoopThread()
    {
        await using var server = await Streams.StartServerAsync(
            static async (reader, writer) =>
            {
                for (int i = 0; i < RoundTrips; i++)
                {
                    await reader.ReadLineAsync(); // the client's go-ahead: the next line can only come after its reader waited
                    writer.Write(Loopback.Bytes($"line {i}\n"));
                }

                await writer.DrainAsync();
            },
            "127.0.0.1",
            0);

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { PreferEventLoop = true });
        var seen = client.Reader.Lines()
            .Select(line =>
            {
                client.Writer.Write(Loopback.Bytes("next\n"));
                return (Text: Loopback.Text(line), OnLoop: IsLoopThread());
            })
            .Take(RoundTrips).ToList().ToTask();
        client.Writer.Write(Loopback.Bytes("go\n"));
        var lines = await seen.Within();

        Assert.That(lines.Select(static l => l.Text), Is.EqualTo(Enumerable.Range(0, RoundTrips).Select(static i => $"line {i}\n")));
        AssertReachesTheLoopAndStays([.. lines.Select(static l => l.OnLoop)]);
    }

    private static void AssertReachesTheLoopAndStays(List<bool> onLoop)
    {
        int first = onLoop.IndexOf(true);
        var seen = string.Join(",", onLoop);
        Assert.That(first, Is.Not.Negative, "no line was handled on a loop: " + seen);
        Assert.That(onLoop.Skip(first), Is.All.True, "a line left the loop after reaching it: " + seen);
    }

    private static bool IsLoopThread() => Thread.CurrentThread.Name?.StartsWith(LoopThreadPrefix, StringComparison.Ordinal) == true;
}
