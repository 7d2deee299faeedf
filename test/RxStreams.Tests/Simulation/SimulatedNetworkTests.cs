using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Testing;

namespace RxStreams.Tests.Simulation;

/// <summary>The simulated network's own semantics: TCP over links in virtual time, and its faults.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class SimulatedNetworkTests
{
    private static IDisposable Echo(SimulatedHost host, int port) =>
        host.Listen(port, connection => connection.Reader.Subscribe(connection.Writer));

    [Test]
    public void Connect_EchoesBytes_AfterLatency_WithNamedEndpoints()
    {
        using var network = new SimulatedNetwork(seed: 1);
        network.Link("app", "db").Latency = TimeSpan.FromMilliseconds(10);
        using var _ = Echo(network.Host("db"), 7);
        var reply = network.Spawn(async () =>
        {
            await using var connection = await network.Host("app").ConnectAsync("db", 7);
            Assert.That(connection.RemoteEndPoint, Is.EqualTo(new InMemoryEndPoint("db:7")));
            connection.Writer.WriteLine("hello");
            var line = await connection.Reader.ReadLineAsync();
            return (Encoding.ASCII.GetString(line.Span), network.Now);
        });

        Assert.That(network.RunUntil(() => reply.IsCompleted, TimeSpan.FromSeconds(5)), Is.True, string.Join("\n", network.Trace));
        var (text, at) = reply.Result;
        Assert.That(text, Is.EqualTo("hello\n"));
        Assert.That(at, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(40)), "SYN, SYN-ACK, data there and back: four crossings");
    }

    [Test]
    public void Connect_ToAPortNobodyListensOn_IsRefused()
    {
        using var network = new SimulatedNetwork(seed: 2);
        network.Host("db");
        var connect = network.Spawn(() => network.Host("app").ConnectAsync("db", 6379));
        network.RunFor(TimeSpan.FromSeconds(1));
        Assert.That(connect.IsFaulted, Is.True);
        Assert.That(connect.Exception!.InnerException, Is.TypeOf<SocketException>()
            .With.Property(nameof(SocketException.SocketErrorCode)).EqualTo(SocketError.ConnectionRefused));
    }
}
