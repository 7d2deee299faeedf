using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Reactive.Linq;
using NUnit.Framework;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// The server is a hot, multicast observable: every subscriber sees every connection accepted while it is subscribed,
/// accepting runs only while someone subscribes, and a connection is never left open without having been delivered.
/// </summary>
[TestFixture]
public class MulticastServerTests
{
    [Test]
    public async Task LoggingSubscriberBesideEchoHandler_EveryClientGetsItsEcho_BothSeeAllFive()
    {
        var handled = new ConcurrentQueue<string>();
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                var line = await reader.ReadLineAsync();
                handled.Enqueue(Loopback.Text(line));
                writer.Write(line);
                await writer.DrainAsync();
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);
        var logged = new ConcurrentQueue<string>();
        var loggedAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int Clients = 5;
        using var logger = server.Subscribe(connection =>
        {
            logged.Enqueue(connection.RemoteEndPoint!.ToString()!); // looks, never consumes
            if (logged.Count == Clients)
            {
                loggedAll.TrySetResult();
            }
        });

        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < Clients; i++)
            {
                var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
                clients.Add(client);
                await client.SendAllAsync($"hello {i}\n");
            }

            for (int i = 0; i < Clients; i++)
            {
                var echo = await clients[i].ReceiveToEndAsync().Within();
                Assert.That(Loopback.Text(echo), Is.EqualTo($"hello {i}\n"), $"client {i} got its echo");
            }

            await loggedAll.Task.Within();
            Assert.Multiple(() =>
            {
                Assert.That(logged, Is.EquivalentTo(clients.Select(c => c.LocalEndPoint!.ToString())), "the logger saw every connection");
                Assert.That(handled, Has.Count.EqualTo(Clients), "the handler saw every connection");
            });
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Test]
    public async Task TwoSubscribersThatBothReadTheBytes_TheSecondIsRefused()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var refused = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var echo = server.Subscribe(c => c.Reader.Subscribe(c.Writer));
        using var greedy = server.Subscribe(c => c.Reader.Subscribe(_ => { }, error => refused.TrySetResult(error)));

        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await client.SendAllAsync("ping");
        var error = await refused.Task.Within();

        Assert.That(error, Is.InstanceOf<InvalidOperationException>(), "one consumer per byte stream");
        Assert.That(Loopback.Text(await client.ReceiveExactlyAsync(4).Within()), Is.EqualTo("ping"), "the first consumer still echoes");
    }

    [Test]
    public async Task OneSubscriberThrows_TheOtherStillGetsTheConnection_ThenItIsAbortedAndReported()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var errorLog = server.Errors.Subscribe(e => reported.TrySetResult(e));
        using var faulty = server.Subscribe(_ => throw new InvalidTimeZoneException("subscriber bug"));
        var seen = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = server.Subscribe(c => seen.TrySetResult(c));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await client.ConnectAsync(server.EndPoints[0]).Within();
        }
        catch (SocketException)
        {
            // The abort can reset the connection before the connect call returns.
        }

        var connection = await seen.Task.Within();

        Assert.That(await reported.Task.Within(), Is.InstanceOf<InvalidTimeZoneException>());
        await connection.Closed.Within();
        Assert.That(connection.Error, Is.InstanceOf<InvalidTimeZoneException>(), "aborted with the subscriber's error");
    }

    [Test]
    public async Task NoSubscriber_ClientWaitsInTheBacklog_TheNextSubscriberGetsIt()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var first = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = server.Subscribe(c => first.TrySetResult(c));
        using var client1 = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await using var connection1 = await first.Task.Within();
        subscription.Dispose();

        // Nobody subscribes now: the connect completes in the kernel's backlog and nothing accepts it (had it been
        // accepted with no subscriber, it would have been aborted and the next subscriber would never see it).
        using var client2 = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await client2.SendAllAsync("late\n");

        var second = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var resumed = server.Subscribe(c => second.TrySetResult(c));
        await using var connection2 = await second.Task.Within();

        Assert.That(connection2.RemoteEndPoint!.ToString(), Is.EqualTo(client2.LocalEndPoint!.ToString()), "accepting resumed with the new subscriber");
        Assert.That(Loopback.Text(await connection2.Reader.ReadLineAsync().Within()), Is.EqualTo("late\n"));
    }

    [Test]
    public async Task SubscribeDisposeChurnWhileClientsConnect_EveryClientIsDeliveredOrClosed_NoError()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        var errors = new ConcurrentQueue<Exception>();
        using var errorLog = server.Errors.Subscribe(errors.Enqueue);
        var delivered = new ConcurrentDictionary<string, TaskCompletionSource<StreamConnection>>();
        TaskCompletionSource<StreamConnection> Slot(string endPoint) =>
            delivered.GetOrAdd(endPoint, _ => new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously));
        void Record(StreamConnection c) => Slot(c.RemoteEndPoint!.ToString()!).TrySetResult(c);

        const int Cycles = 300, Clients = 40;
        var churn = Task.Run(async () =>
        {
            for (int i = 0; i < Cycles; i++)
            {
                var subscription = server.Subscribe(Record);
                await Task.Yield();
                subscription.Dispose();
            }
        });
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < Clients; i++)
            {
                try
                {
                    clients.Add(await Loopback.ConnectRawAsync(server.EndPoints[0]));
                }
                catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionReset)
                {
                    // Accepted while no subscriber was left and aborted before the connect completed here: "closed",
                    // one of the two outcomes this test allows.
                }
            }

            await churn.Within();
            using var last = server.Subscribe(Record); // takes whatever still waits in the backlog
            foreach (var client in clients)
            {
                var closedByServer = client.ReceiveAsync(new byte[1]).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                var seen = Slot(client.LocalEndPoint!.ToString()!).Task;
                var outcome = await Task.WhenAny(seen, closedByServer).Within();
                Assert.That(outcome.IsCompleted, Is.True, "each client is either delivered or closed, never left hanging");
            }

            Assert.That(errors, Is.Empty, "no error from subscribing and leaving while accepting");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            foreach (var slot in delivered.Values.Where(s => s.Task.IsCompletedSuccessfully))
            {
                slot.Task.Result.Abort();
            }
        }
    }
}
