using System.Reactive.Subjects;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Readme;

/// <summary>The README's recipes, exercised over in-memory connection pairs (no sockets) and one real loopback server.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class ReadmeRecipeTests
{
    [Test]
    public async Task Echo_OverARealServer_EchoesLines()
    {
        await using var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var serving = ReadmeRecipes.Echo(server);
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();

        client.Writer.WriteLine("hello");
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("hello\n"));
    }

    [Test]
    public async Task Chat_BroadcastsToTheOthers_AndALeaverDoesNotDisturbThem()
    {
        var accepted = new Subject<StreamConnection>();
        using var chat = ReadmeRecipes.Chat(accepted);
        await using var alice = InMemoryConnection.CreatePair();
        await using var bob = InMemoryConnection.CreatePair();
        await using var carol = InMemoryConnection.CreatePair();
        accepted.OnNext(alice.Server);
        accepted.OnNext(bob.Server);
        accepted.OnNext(carol.Server);

        carol.Client.Writer.WriteEof(); // carol leaves at once
        await carol.Server.Closed.Within();
        alice.Client.Writer.WriteLine("hi all");

        Assert.That(Loopback.Text(await bob.Client.Reader.ReadLineAsync().Within()), Is.EqualTo("hi all\n"));
        bob.Client.Writer.WriteLine("hi alice");
        // Her own line would have reached her in the same dispatch as bob's copy, so it would come first.
        Assert.That(Loopback.Text(await alice.Client.Reader.ReadLineAsync().Within()), Is.EqualTo("hi alice\n"), "alice does not hear herself");
    }

    [Test]
    public async Task RequestResponse_AnswerArrives_OrTimesOutInVirtualTime()
    {
        var scheduler = new TestScheduler();
        await using var pair = InMemoryConnection.CreatePair();
        // The server answers PING and ignores everything else.
        var serving = Task.Run(async () =>
        {
            await foreach (var line in pair.Server.Reader.ReadLinesAsync())
            {
                if (Loopback.Text(line) == "PING\n")
                {
                    pair.Server.Writer.WriteLine("PONG");
                }
            }
        });
        using var client = new ReadmeRecipes.LineClient(pair.Client, scheduler);

        var pong = client.AskAsync("PING", TimeSpan.FromSeconds(2));
        Assert.That(await pong.Within(), Is.EqualTo("PONG"));

        var silence = client.AskAsync("SLEEP", TimeSpan.FromSeconds(2));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);
        Assert.That(silence.IsCompleted, Is.False, "1 s of virtual time: still waiting");
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);
        Assert.ThrowsAsync<TimeoutException>(async () => await silence.Within());

        pair.Client.Writer.WriteEof();
        await serving.Within(); // the server saw the end and stopped
    }
}
