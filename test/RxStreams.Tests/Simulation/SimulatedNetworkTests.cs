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

    [Test]
    public void SlowReader_PushesBackOnTheSender_ThenEveryByteArrivesInOrder()
    {
        using var network = new SimulatedNetwork(seed: 3, new SimulationOptions
        {
            SocketBufferSize = 4096,
            DefaultLink = new LinkSettings { BufferSize = 8192, SegmentSize = 1000, BytesPerSecond = 10_000_000 },
        });
        StreamConnection? accepted = null;
        network.Host("db").Listen(1, connection => accepted = connection);
        var payload = Enumerable.Range(0, 100_000).Select(static i => (byte)(i * 7)).ToArray();
        var sender = network.Spawn(async () =>
        {
            var connection = await network.Host("app").ConnectAsync("db", 1);
            connection.Writer.Write(payload);
            await connection.Writer.DrainAsync();
            connection.Writer.WriteEof();
            return connection;
        });

        network.RunFor(TimeSpan.FromSeconds(2));
        Assert.That(accepted, Is.Not.Null);
        Assert.That(sender.IsCompleted, Is.False, "nobody reads: the sender's drain must wait");

        var received = network.Spawn(async () => await accepted!.Reader.ReadAsync(-1));
        Assert.That(network.RunUntil(() => received.IsCompleted && sender.IsCompleted, TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(received.Result.ToArray(), Is.EqualTo(payload));
    }

    [Test]
    public void Partition_HoldsWhatIsInFlight_AndHealDeliversItInOrder()
    {
        using var network = new SimulatedNetwork(seed: 4);
        using var _ = Echo(network.Host("db"), 7);
        var lines = new List<string>();
        var connection = network.Spawn(() => network.Host("app").ConnectAsync("db", 7));
        network.RunFor(TimeSpan.FromMilliseconds(10));
        var client = connection.Result;
        var reading = network.Spawn(async () =>
        {
            for (int i = 0; i < 3; i++)
            {
                lines.Add(Encoding.ASCII.GetString((await client.Reader.ReadLineAsync()).Span));
            }
        });

        network.Partition("app", "db");
        network.Spawn(() =>
        {
            client.Writer.WriteLine("one");
            client.Writer.WriteLine("two");
            client.Writer.WriteLine("three");
            return Task.CompletedTask;
        });
        network.RunFor(TimeSpan.FromSeconds(10));
        Assert.That(lines, Is.Empty, "nothing crosses a partition");

        network.Heal("app", "db");
        Assert.That(network.RunUntil(() => reading.IsCompleted, network.Now + TimeSpan.FromSeconds(1)), Is.True);
        Assert.That(lines, Is.EqualTo(new[] { "one\n", "two\n", "three\n" }));
    }

    [Test]
    public void Reset_FailsBothReaders_WithConnectionReset()
    {
        using var network = new SimulatedNetwork(seed: 5);
        StreamConnection? accepted = null;
        network.Host("db").Listen(1, connection => accepted = connection);
        var client = network.Spawn(() => network.Host("app").ConnectAsync("db", 1));
        network.RunFor(TimeSpan.FromMilliseconds(10));
        var clientRead = network.Spawn(async () => await client.Result.Reader.ReadAsync());
        var serverRead = network.Spawn(async () => await accepted!.Reader.ReadAsync());
        network.RunFor(TimeSpan.FromMilliseconds(10));

        network.Reset("app", "db");
        network.RunFor(TimeSpan.FromMilliseconds(10));

        var errors = new[] { clientRead, serverRead }.Select(static read => read.Exception?.InnerException).ToArray();
        Assert.That(errors, Has.All.InstanceOf<IOException>());
        Assert.That(errors.Select(static e => (e?.InnerException as SocketException)?.SocketErrorCode), Has.All.EqualTo(SocketError.ConnectionReset));
    }

    [Test]
    public void CrashedPeer_IsHalfOpen_UntilTheClientSendsAfterItsRestart()
    {
        using var network = new SimulatedNetwork(seed: 6);
        using var _ = Echo(network.Host("db"), 7);
        var client = network.Spawn(() => network.Host("app").ConnectAsync("db", 7));
        network.RunFor(TimeSpan.FromMilliseconds(10));
        var connection = client.Result;
        var read = network.Spawn(async () => await connection.Reader.ReadLineAsync());

        network.Host("db").Crash();
        network.RunFor(TimeSpan.FromSeconds(30));
        Assert.That(read.IsCompleted, Is.False, "no FIN, no reset: the client cannot know");
        Assert.That(connection.Error, Is.Null);

        network.Host("db").Restart();
        network.Spawn(() =>
        {
            connection.Writer.WriteLine("anyone?");
            return Task.CompletedTask;
        });
        network.RunFor(TimeSpan.FromSeconds(1));
        Assert.That(read.IsFaulted, Is.True, string.Join("\n", network.Trace));
        Assert.That(read.Exception!.InnerException, Is.InstanceOf<IOException>());
    }

    [Test]
    public void ConnectAcrossAPartition_TimesOutInVirtualTime()
    {
        using var network = new SimulatedNetwork(seed: 7);
        using var _ = Echo(network.Host("db"), 7);
        network.Partition("app", "db");
        var connect = network.Spawn(() => network.Host("app").ConnectAsync("db", 7, new ConnectionOptions { ConnectTimeout = TimeSpan.FromSeconds(3) }));

        network.RunFor(TimeSpan.FromSeconds(2.9));
        Assert.That(connect.IsCompleted, Is.False);
        network.RunFor(TimeSpan.FromSeconds(0.2));
        Assert.That(connect.Exception?.InnerException, Is.TypeOf<TimeoutException>());
    }

    [Test]
    public void SegmentSize_CutsWhatTheReaderGets_DifferentlyPerSeed()
    {
        string Chunks(int seed)
        {
            using var network = new SimulatedNetwork(seed, new SimulationOptions { DefaultLink = new LinkSettings { SegmentSize = 4 } });
            var sizes = new List<int>();
            network.Host("db").Listen(1, connection => connection.Reader.Subscribe(chunk => sizes.Add(chunk.Length)));
            network.Spawn(async () =>
            {
                var connection = await network.Host("app").ConnectAsync("db", 1);
                connection.Writer.Write(new byte[40]);
            });
            network.RunFor(TimeSpan.FromSeconds(1));
            Assert.That(sizes.Sum(), Is.EqualTo(40));
            Assert.That(sizes, Has.All.InRange(1, 4));
            return string.Join(",", sizes);
        }

        string once = Chunks(1);
        Assert.That(Chunks(1), Is.EqualTo(once));
        Assert.That(Enumerable.Range(1, 6).Select(Chunks).Distinct().Count(), Is.GreaterThan(1));
    }

    [Test]
    public void HostThatRefusesConnections_RefusesEvenWhileListening_ThenAcceptsAgain()
    {
        using var network = new SimulatedNetwork(seed: 8);
        using var _ = Echo(network.Host("db"), 7);
        network.Host("db").RefusesConnections = true;
        var refused = network.Spawn(() => network.Host("app").ConnectAsync("db", 7));
        network.RunFor(TimeSpan.FromMilliseconds(100));
        network.Host("db").RefusesConnections = false;
        var accepted = network.Spawn(() => network.Host("app").ConnectAsync("db", 7));
        network.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.That((refused.Exception?.InnerException as SocketException)?.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
        Assert.That(accepted.Status, Is.EqualTo(TaskStatus.RanToCompletion));
    }

    [Test]
    public void Bandwidth_SetsHowLongAPayloadTakes()
    {
        using var network = new SimulatedNetwork(seed: 9, new SimulationOptions { DefaultLink = new LinkSettings { BytesPerSecond = 10_000 } });
        network.Host("db").Listen(1, async (reader, _) => await reader.ReadAsync(-1));
        StreamConnection? client = null;
        network.Spawn(async () => client = await network.Host("app").ConnectAsync("db", 1));
        network.RunFor(TimeSpan.FromMilliseconds(10));
        var started = network.Now;
        var received = network.Spawn(async () =>
        {
            client!.Writer.Write(new byte[20_000]);
            await client.Writer.DrainAsync();
            client.Writer.WriteEof();
            await client.Reader.ReadAsync(-1); // the server's end: it read everything
            return network.Now - started;
        });

        Assert.That(network.RunUntil(() => received.IsCompleted, TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(received.Result, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2)).And.LessThan(TimeSpan.FromSeconds(2.1)));
    }

    [Test]
    public void EverythingSimulatedRunsOnTheNetworksOwnThread()
    {
        using var network = new SimulatedNetwork(seed: 10);
        var threads = new HashSet<int>();
        void Note() => threads.Add(Environment.CurrentManagedThreadId);
        network.Host("db").Listen(7, async (reader, writer) =>
        {
            Note();
            await foreach (var line in reader.ReadLinesAsync())
            {
                Note();
                writer.Write(line.Span);
                await writer.DrainAsync();
                Note();
            }
        });
        var client = network.Spawn(async () =>
        {
            Note();
            await using var connection = await network.Host("app").ConnectAsync("db", 7);
            Note();
            for (int i = 0; i < 5; i++)
            {
                connection.Writer.WriteLine("x");
                await connection.Reader.ReadLineAsync();
                Note();
                await network.Delay(TimeSpan.FromMilliseconds(3));
                Note();
            }
        });

        Assert.That(network.RunUntil(() => client.IsCompleted, TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(client.Status, Is.EqualTo(TaskStatus.RanToCompletion));
        Assert.That(threads, Has.Count.EqualTo(1), "one thread for handlers, clients and everything they await");
        Assert.That(threads, Does.Not.Contain(Environment.CurrentManagedThreadId), "not the test's thread");
        Assert.That(network.Errors, Is.Empty);
    }

    [Test]
    public void ConnectionUsedFromTheTestBetweenRuns_WorkRunsAtTheNextRun()
    {
        using var network = new SimulatedNetwork(seed: 11);
        using var _ = Echo(network.Host("db"), 7);
        var connect = network.Host("app").ConnectAsync("db", 7); // from the test's thread, outside any run
        Assert.That(network.RunUntil(() => connect.IsCompleted, TimeSpan.FromSeconds(1)), Is.True);
        var connection = connect.Result;

        connection.Writer.WriteLine("between runs");
        var line = connection.Reader.ReadLineAsync().AsTask();
        Assert.That(network.RunUntil(() => line.IsCompleted, network.Now + TimeSpan.FromSeconds(1)), Is.True, string.Join("\n", network.Trace));
        Assert.That(Encoding.ASCII.GetString(line.Result.Span), Is.EqualTo("between runs\n"));
        Assert.That(network.Errors, Is.Empty);
    }

    [Test]
    public void CodeThatLeavesTheSimulationsThread_IsReportedInErrors()
    {
        using var network = new SimulatedNetwork(seed: 12);
        using var escaped = new ManualResetEventSlim();
        var elsewhere = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        network.Spawn(async () =>
        {
            await elsewhere.Task; // resumes on the thread pool (its continuations run asynchronously): outside the simulation
            _ = network.Delay(TimeSpan.FromMilliseconds(1));
            escaped.Set();
        });

        // Sends the client to the thread pool, then holds the network's thread (a run is going on) until the escaped code
        // has touched the network.
        network.At(TimeSpan.FromMilliseconds(1), () =>
        {
            elsewhere.SetResult();
            escaped.Wait(TimeSpan.FromSeconds(30));
        });
        network.RunFor(TimeSpan.FromMilliseconds(2));

        Assert.That(escaped.IsSet, Is.True);
        Assert.That(network.Errors, Has.Some.InstanceOf<InvalidOperationException>().With.Message.Contains("simulation's thread"));
        Assert.That(network.Trace, Has.Some.Contains("left the simulation's thread"));
    }

    [Test]
    public void SimulatedCodeThatBlocksTheThread_FailsTheRun_InsteadOfHanging()
    {
        using var release = new ManualResetEventSlim();
        var network = new SimulatedNetwork(seed: 13, new SimulationOptions { SettleTimeout = TimeSpan.FromMilliseconds(200) });
        network.At(TimeSpan.FromMilliseconds(1), () => release.Wait(TimeSpan.FromSeconds(30))); // a blocking wait

        Assert.That(() => network.RunFor(TimeSpan.FromSeconds(1)), Throws.TypeOf<TimeoutException>().With.Message.Contains("blocked"));
        Assert.That(() => network.RunFor(TimeSpan.FromSeconds(1)), Throws.TypeOf<TimeoutException>(), "a stuck network stays stuck");
        release.Set(); // lets the thread end
        network.Dispose();
    }
}
