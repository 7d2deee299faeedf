using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Readme;

/// <summary>The pull recipes of the README, run over in-memory pairs.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class ReadmePullRecipeTests
{
    [Test]
    public async Task AskAsync_ReplyArrives_TimesOutWithoutOne_ThenNullWhenThePeerCloses()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;

        var answering = Task.Run(async () =>
        {
            var request = await server.Reader.ReadLineTextAsync();
            server.Writer.WriteLine("re: " + request);
            await server.Reader.ReadLineTextAsync(); // "ignored": no reply
            await server.Reader.ReadLineTextAsync(); // "bye": close
            server.Writer.WriteEof();
        });

        var reply = await ReadmePullRecipes.AskAsync(client, "hello", Loopback.Timeout).Within();
        Assert.That(reply, Is.EqualTo("re: hello"));

        // Nothing will come: the timeout fires (it is the only way this await ends), and the cancelled read
        // consumed nothing and released the reader for the next request.
        Assert.ThrowsAsync<TimeoutException>(async () => await ReadmePullRecipes.AskAsync(client, "ignored", TimeSpan.FromMilliseconds(50)).Within());

        var last = await ReadmePullRecipes.AskAsync(client, "bye", Loopback.Timeout).Within();
        Assert.That(last, Is.Null, "the peer closed without a reply");
        await answering.Within();
    }

    [Test]
    public async Task MergeLines_InterleavesEveryConnection_KeepsEachOnesOrder_AndEndsWhenAllEnded()
    {
        var pairs = Enumerable.Range(0, 3).Select(_ => InMemoryConnection.CreatePair()).ToList();
        try
        {
            for (int i = 0; i < pairs.Count; i++)
            {
                pairs[i].Client.Writer.WriteLine($"{i}: first");
                pairs[i].Client.Writer.WriteLine($"{i}: second");
                pairs[i].Client.Writer.WriteEof();
            }

            var merged = new List<(StreamConnection From, string Line)>();
            await foreach (var item in ReadmePullRecipes.MergeLines(pairs.Select(pair => pair.Server)).WithCancellation(new CancellationTokenSource(Loopback.Timeout).Token))
            {
                merged.Add(item);
            }

            Assert.That(merged, Has.Count.EqualTo(6));
            for (int i = 0; i < pairs.Count; i++)
            {
                var fromThisOne = merged.Where(item => item.From == pairs[i].Server).Select(item => item.Line);
                Assert.That(fromThisOne, Is.EqualTo(new[] { $"{i}: first", $"{i}: second" }));
            }
        }
        finally
        {
            foreach (var pair in pairs)
            {
                await pair.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task StoreAllAsync_StoresEveryRecordInOrder_ThenCompletesWithTheStream()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;
        var stored = new List<string>();

        for (int i = 0; i < 5; i++)
        {
            client.Writer.WriteLengthPrefixed(Loopback.Bytes($"record {i}"));
        }

        client.Writer.WriteEof();
        await ReadmePullRecipes.StoreAllAsync(server, async (record, ct) =>
        {
            await Task.Yield(); // a real store awaits I/O here; the reader waits with it
            stored.Add(Loopback.Text(record));
        }).Within();

        Assert.That(stored, Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"record {i}")));
    }
}
