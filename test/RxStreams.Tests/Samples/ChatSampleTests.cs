using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Samples;

/// <summary>The chat sample, run as a process and driven by real clients: <c>nc</c>, and raw sockets for the slow client.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class ChatSampleTests
{
    [Test]
    public async Task TwoNetcatClients_Chat_WithNicknames_RenameAndLeaveAreAnnounced()
    {
        var nc = SampleProcess.Tool("nc", "netcat-openbsd");
        var (server, port) = await SampleProcess.StartAsync("RxStreams.Samples.Chat");
        await using (server)
        {
            await using var alice = StartNetcat(nc, port);
            await alice.WaitForLineAsync(static l => l.Contains("Your nickname?", StringComparison.Ordinal));
            await SayAsync(alice, "alice\n");
            await alice.WaitForLineAsync(static l => l.StartsWith("Hello alice!", StringComparison.Ordinal));

            await using var bob = StartNetcat(nc, port);
            await bob.WaitForLineAsync(static l => l.Contains("Your nickname?", StringComparison.Ordinal));
            await SayAsync(bob, "ALICE\n"); // names are case-insensitive: taken
            await bob.WaitForLineAsync(static l => l == "ALICE is taken. Your nickname?");
            await SayAsync(bob, "bob\n");
            await bob.WaitForLineAsync(static l => l.StartsWith("Hello bob! In the room: alice, bob.", StringComparison.Ordinal));
            await alice.WaitForLineAsync(static l => l == "* bob joined");

            await SayAsync(alice, "hello bob\n");
            await bob.WaitForLineAsync(static l => l == "<alice> hello bob");

            await SayAsync(bob, "/nick robert\nhi alice\n");
            await alice.WaitForLineAsync(static l => l == "* bob is now robert");
            await alice.WaitForLineAsync(static l => l == "<robert> hi alice");

            alice.StandardInput.Close(); // EOF: nc -N half-closes; the server announces the departure and closes
            await bob.WaitForLineAsync(static l => l == "* alice left");
            Assert.That(await alice.WaitForExitAsync(), Is.Zero, alice.Transcript);
            Assert.That(alice.StdoutLines, Does.Not.Contain("<alice> hello bob"), "nobody hears their own lines");
            Assert.That(alice.StdoutLines[^1], Is.EqualTo("Bye!"));
        }
    }

    [Test]
    public async Task ClientThatNeverReads_IsDisconnectedAtItsBufferCap_AndTheOthersGoOn()
    {
        var (server, port) = await SampleProcess.StartAsync("RxStreams.Samples.Chat");
        await using (server)
        {
            using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            await slow.ConnectAsync("127.0.0.1", port).WaitAsync(Loopback.Timeout);
            await slow.SendAsync(Loopback.Bytes("slow\n"));
            var greeting = new StringBuilder();
            var buffer = new byte[1024];
            while (!greeting.ToString().Contains("Hello slow!", StringComparison.Ordinal))
            {
                int n = await slow.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Loopback.Timeout);
                Assert.That(n, Is.Positive, "the server closed early");
                greeting.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }

            // From now on the slow client never reads again.

            await using var talker = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
            await ExpectLineAsync(talker, "Welcome to RxStreams chat! Your nickname?");
            talker.Writer.WriteText("talker\n");
            await ExpectLineAsync(talker, "Hello talker! In the room: slow, talker. Commands: /nick NAME, /who, /quit");

            // Flood: the slow client's kernel buffers fill, then its writer's 64 KiB cap; then it is disconnected. Bounded
            // at 20,000 lines of 1000 bytes (20 MB), far more than the kernel buffers and the cap can hold.
            var line = new string('m', 998) + "\n";
            var leftAnnounced = ReadUntilAsync(talker, "* slow left (too slow: disconnected)");
            for (int i = 0; i < 20_000 && !leftAnnounced.IsCompleted; i++)
            {
                talker.Writer.WriteText(line);
                await talker.Writer.DrainAsync().Within();
            }

            await leftAnnounced.Within();

            // The server still serves everyone else.
            talker.Writer.WriteText("/who\n");
            await ExpectLineAsync(talker, "In the room: talker");
        }
    }

    /// <summary>An <c>nc -N</c> client on the chat port: EOF on its stdin half-closes the connection.</summary>
    private static ChildProcess StartNetcat(string nc, int port) =>
        ChildProcess.Start(nc, ["-N", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], redirectStdin: true);

    /// <summary>Types <paramref name="text"/> into a netcat client and flushes it to the socket.</summary>
    private static async Task SayAsync(ChildProcess client, string text)
    {
        await client.StandardInput.WriteAsync(text);
        await client.StandardInput.FlushAsync();
    }

    private static async Task ExpectLineAsync(StreamConnection connection, string expected) =>
        Assert.That(Encoding.UTF8.GetString((await connection.Reader.ReadLineAsync().Within()).Span).TrimEnd('\n'), Is.EqualTo(expected));

    private static async Task ReadUntilAsync(StreamConnection connection, string expected)
    {
        while (true)
        {
            var line = await connection.Reader.ReadLineAsync();
            Assert.That(line.IsEmpty, Is.False, $"the server closed before '{expected}'");
            if (Encoding.UTF8.GetString(line.Span).TrimEnd('\n') == expected)
            {
                return;
            }
        }
    }
}
