using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Tests.Diagnostics;
using RxStreams.Tests.Reliability;
using RxStreams.Tests.Sockets;
using RxStreams.Tests.Tls;
using static RxStreams.Tests.ProxyProtocol.ProxyHeaders;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// Text a peer controls, over real loopback sockets: a forged PROXY Unix path reaches the log escaped, a legal but unusual
/// path (108 bytes, not UTF-8) is accepted, and a flood of bad TLS handshakes costs a bounded number of log lines.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class PeerTextOnTheServerTests
{
    private const int HandlerFailed = 3, SetupFailed = 5, Suppressed = 20;

    private static bool HasNoControlCharacter(string text) => !text.Any(char.IsControl);

    [Test]
    public async Task ForgedUnixPathInAProxyHeader_ReachesTheLogEscaped()
    {
        var logs = new RecordingLoggerFactory();
        var options = new ServerOptions { ProxyProtocol = ProxyProtocolMode.Required, LoggerFactory = logs };
        var server = await Streams.StartServerAsync((_, _) => throw new InvalidOperationException("handler bug"), "127.0.0.1", 0, options).Within();
        await using (Loopback.Guard(server))
        {
            string forged = "/tmp/x\n2026-12-06 12:00:00 INFO admin logged in\u001b[2J\u001b[31m";
            using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
            await client.SendAllAsync(V2(0x1, 0x31, [.. SunPath(forged), .. SunPath("/run/server.sock")]));

            var entry = await logs.WaitForAsync(static e => e.Id == HandlerFailed).Within();

            Assert.Multiple(() =>
            {
                Assert.That(entry.Message, Does.Contain("/tmp/x\\x0A2026-12-06 12:00:00 INFO admin logged in\\x1B[2J\\x1B[31m"));
                Assert.That(HasNoControlCharacter(entry.Message), Is.True, entry.Message);
                Assert.That(entry.Error, Is.InstanceOf<InvalidOperationException>());
            });
        }

        Assert.That(logs.Entries.Where(static e => !HasNoControlCharacter(e.Message)), Is.Empty, "no log line carries a control character");
    }

    [Test]
    public async Task FullLengthNonUtf8UnixPathInAProxyHeader_IsAccepted_TheConnectionIsDelivered()
    {
        byte[] path = [(byte)'/', 0xFF, 0xC3, .. Enumerable.Repeat((byte)'q', 105)]; // 108 bytes, no NUL, not UTF-8
        var options = new ServerOptions { ProxyProtocol = ProxyProtocolMode.Required };
        var server = await Streams.StartServerAsync("127.0.0.1", 0, options).Within();
        await using var guard = Loopback.Guard(server);
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });
        var delivered = server.FirstAsync().ToTask();

        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await client.SendAllAsync(V2(0x1, 0x31, [.. path, .. SunPath("/run/server.sock")]));

        await using var connection = await delivered.Within();
        var peer = connection.RemoteEndPoint;
        Assert.Multiple(() =>
        {
            Assert.That(peer, Is.InstanceOf<UnixDomainSocketEndPoint>());
            Assert.That(peer!.Serialize().Buffer.Span[2..].ToArray(), Is.EqualTo(path), "the client's path, byte for byte");
            lock (errors)
            {
                Assert.That(errors, Is.Empty);
            }
        });
    }

    [Test]
    public async Task TwoHundredBadTlsHandshakes_ABoundedNumberOfLogLines_EveryErrorOnErrors()
    {
        const int BadClients = 200;
        var logs = new RecordingLoggerFactory();
        var clock = new AnnouncingTestScheduler(); // virtual time stands still: every failure falls in one interval
        var options = new ServerOptions { Tls = new TlsServerOptions(TestCertificates.Server), LoggerFactory = logs, Scheduler = clock };
        var server = await Streams.StartServerAsync((_, _) => Task.CompletedTask, "127.0.0.1", 0, options).Within();
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });
        await using (Loopback.Guard(server))
        {
            var garbage = Loopback.Bytes("\u0016\u0003\u0001\u0000\u0005GARBAGE\r\n\u001b[31m not a ClientHello\n");
            for (int i = 0; i < BadClients; i++)
            {
                using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
                await client.SendAllAsync(garbage);
                await ReceiveEndAsync(client); // the server gives up on it; waiting for that keeps the failure the same every time
            }

            await ReliabilityKit.WaitUntilAsync(() => { lock (errors) { return errors.Count >= BadClients; } }, "every failure reported");
        }

        var setupLines = logs.Entries.Where(static e => e.Id == SetupFailed).ToArray();
        var summaries = logs.Entries.Where(static e => e.Id == Suppressed).ToArray();
        int kinds;
        lock (errors)
        {
            Assert.That(errors, Has.Count.EqualTo(BadClients), "server.Errors gets every failure, one by one");
            kinds = errors.Select(static e => e.GetType()).Distinct().Count();
        }

        TestContext.Out.WriteLine($"{BadClients} bad handshakes: {setupLines.Length} setup-failure lines, {summaries.Length} summaries, {kinds} exception type(s); " +
            string.Join(" | ", summaries.Select(static s => s.Message)));
        Assert.Multiple(() =>
        {
            Assert.That(setupLines, Has.Length.EqualTo(kinds), "one full line per kind of failure in the interval");
            Assert.That(summaries, Has.Length.LessThanOrEqualTo(kinds), "one summary per kind, at close");
            Assert.That(logs.Entries.Count, Is.LessThanOrEqualTo(2 + (2 * kinds)), "serving, closed, and two lines per kind");
            Assert.That(summaries.All(static s => s.Message.Contains("more similar events", StringComparison.Ordinal)), Is.True);
            Assert.That(logs.Entries.All(static e => HasNoControlCharacter(e.Message)), Is.True);
        });
    }

    private static async Task ReceiveEndAsync(Socket client)
    {
        var buffer = new byte[4096];
        try
        {
            while (await client.ReceiveAsync(buffer).Within() > 0)
            {
            }
        }
        catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }
}
