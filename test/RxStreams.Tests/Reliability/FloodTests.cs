using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary><see cref="ServerOptions.MaxConnections"/>: a flood is served a few at a time, never all at once, and none is lost.</summary>
public class FloodTests
{
    [Test]
    public void MaxConnections_RejectsNonPositive()
    {
        Assert.That(() => new ServerOptions { MaxConnections = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(new ServerOptions().MaxConnections, Is.Null, "no cap by default");
    }

    [Test]
    public async Task Flood_OfFiftyClients_WithACapOfFive_NeverHoldsMoreThanFive_AndServesEveryOne()
    {
        const int Clients = 50, Cap = 5;
        int open = 0, peak = 0;
        var server = await Streams.StartServerAsync(async (reader, writer) =>
        {
            int now = Interlocked.Increment(ref open);
            InterlockedMax(ref peak, now);
            try
            {
                var line = await reader.ReadLineAsync();
                writer.Write(line);
                await writer.DrainAsync();
            }
            finally
            {
                Interlocked.Decrement(ref open); // before the handler returns, so before its connection closes
            }
        }, "127.0.0.1", 0, new ServerOptions { MaxConnections = Cap, Backlog = Clients * 2 }).Within();
        await using var guard = AbortOnDispose(server);

        // Everyone connects first (the kernel completes the handshakes from the backlog), then everyone talks: without
        // the cap all fifty would be accepted and waiting in their handlers at once.
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < Clients; i++)
            {
                clients.Add(await Loopback.ConnectRawAsync(server.EndPoints[0]));
            }

            await WaitUntilAsync(() => Volatile.Read(ref open) == Cap, "the first five are accepted and waiting");
            Assert.That(server.ConnectionCount, Is.EqualTo(Cap), "no more are accepted while five are open");

            var replies = clients.Select(async (client, i) =>
            {
                await client.SendAllAsync($"client {i}\n");
                return Loopback.Text(await client.ReceiveToEndAsync());
            }).ToArray();
            var answers = await Task.WhenAll(replies).WaitAsync(TimeSpan.FromMinutes(1));

            Assert.That(answers, Is.EqualTo(Enumerable.Range(0, Clients).Select(i => $"client {i}\n")), "every client is served, none lost");
            Assert.That(Volatile.Read(ref peak), Is.LessThanOrEqualTo(Cap), "never more than the cap at once");
            await WaitUntilAsync(() => server.ConnectionCount == 0, "all released");
        }
        finally
        {
            clients.ForEach(static c => c.Dispose());
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
