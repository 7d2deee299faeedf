using System.Net;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.ProxyProtocol.ProxyHeaders;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// <see cref="ServerOptions.ProxyProtocol"/> over real loopback sockets, with headers written by hand on a raw client:
/// the handler sees the client's addresses and only the bytes after the header; bad or missing headers cost only
/// their own connection; a stalled header times out on the options' scheduler (virtual time).
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class ProxyProtocolServerTests
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("203.0.113.7"), 40000);
    private static readonly IPEndPoint Service = new(IPAddress.Parse("198.51.100.1"), 8443);

    private static ServerOptions Required(IScheduler? scheduler = null) => new()
    {
        ProxyProtocol = ProxyProtocolMode.Required,
        Scheduler = scheduler ?? DefaultScheduler.Instance,
    };

    /// <summary>Reads one line, answers with what the connection says about itself, then the line.</summary>
    private static async Task Report(ConnectionReader reader, ConnectionWriter writer)
    {
        var line = Loopback.Text(await reader.ReadLineAsync());
        var header = writer.GetExtraInfo("proxy_header") as ProxyProtocolHeader;
        writer.Write(Loopback.Bytes(
            $"peer={writer.GetExtraInfo("peername")} sock={writer.GetExtraInfo("sockname")} " +
            $"proxy={writer.GetExtraInfo("proxy_peername", "none")} proxysock={writer.GetExtraInfo("proxy_sockname", "none")} " +
            $"v={header?.Version} {header?.Command} line={line}"));
        await writer.DrainAsync();
    }

    private static async Task<string> SendAndReadReplyAsync(StreamServer server, params byte[][] pieces)
    {
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        foreach (var piece in pieces)
        {
            await client.SendAllAsync(piece);
        }

        return Loopback.Text(await client.ReceiveToEndAsync());
    }

    /// <summary>The raw client sees its connection end (FIN or reset) without any byte from a handler.</summary>
    private static async Task AssertClosedWithoutReplyAsync(Socket client)
    {
        try
        {
            Assert.That(await client.ReceiveToEndAsync(), Is.Empty, "no handler ran, so nothing is sent");
        }
        catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionReset)
        {
            // aborted: expected
        }
    }

    [Test]
    public async Task V1_HandlerSeesTheClientsAddresses_AndOnlyTheBytesAfterTheHeader()
    {
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, Required());
        await using var guard = Loopback.Guard(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        // One send: the header and the first line arrive together, so the line is already buffered behind the header.
        await client.SendAllAsync("PROXY TCP4 203.0.113.7 198.51.100.1 40000 8443\r\nhello\n");
        var reply = Loopback.Text(await client.ReceiveToEndAsync());

        Assert.That(reply, Is.EqualTo(
            $"peer={Client} sock={Service} proxy={client.LocalEndPoint} proxysock={client.RemoteEndPoint} v=1 Proxy line=hello\n"));
    }

    [Test]
    public async Task V2_Tcp6_SplitAcrossSends_SameResult()
    {
        var source = new IPEndPoint(IPAddress.Parse("2001:db8::7"), 1234);
        var destination = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 443);
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, Required());
        await using var guard = Loopback.Guard(server);
        var header = V2Tcp(source, destination, Tlv(0x02, Ascii("example.com")));

        var reply = await SendAndReadReplyAsync(server, header[..5], header[5..20], [.. header[20..], .. Ascii("he")], Ascii("llo\n"));

        Assert.That(reply, Does.StartWith($"peer={source} sock={destination} ").And.EndWith("v=2 Proxy line=hello\n"));
    }

    [Test]
    public async Task V2_Local_HealthCheck_KeepsTheProxysOwnAddresses()
    {
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, Required());
        await using var guard = Loopback.Guard(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        await client.SendAllAsync((byte[])[.. V2(0x0, 0x00, []), .. Ascii("ping\n")]);
        var reply = Loopback.Text(await client.ReceiveToEndAsync());

        Assert.That(reply, Is.EqualTo(
            $"peer={client.LocalEndPoint} sock={client.RemoteEndPoint} proxy={client.LocalEndPoint} proxysock={client.RemoteEndPoint} v=2 Local line=ping\n"));
    }

    [Test]
    public async Task V1_Unknown_KeepsTheRealEndpoints()
    {
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, Required());
        await using var guard = Loopback.Guard(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        await client.SendAllAsync("PROXY UNKNOWN\r\nping\n");
        var reply = Loopback.Text(await client.ReceiveToEndAsync());

        Assert.That(reply, Does.StartWith($"peer={client.LocalEndPoint} sock={client.RemoteEndPoint} ").And.EndWith("v=1 Proxy line=ping\n"));
    }

    [Test]
    public async Task Subscriber_ReceivesTheConnectionAfterTheHeader_WithTheClientsEndpoints()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, Required());
        await using var guard = Loopback.Guard(server);
        var delivered = server.FirstAsync().ToTask();
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        await client.SendAllAsync((byte[])[.. V2Tcp(Client, Service), .. Ascii("pushed bytes")]);
        await using var connection = await delivered.Within();
        client.Shutdown(SocketShutdown.Send);
        var received = await connection.Reader.Select(static chunk => chunk.ToArray()).ToList().ToTask().Within();

        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(received.SelectMany(static c => c).ToArray()), Is.EqualTo("pushed bytes"));
            Assert.That(connection.RemoteEndPoint, Is.EqualTo(Client));
            Assert.That(connection.LocalEndPoint, Is.EqualTo(Service));
            Assert.That(connection.ProxyEndPoint, Is.EqualTo(client.LocalEndPoint));
            Assert.That(connection.ProxyHeader!.Source, Is.EqualTo(Client));
            Assert.That(connection.Writer.RemoteEndPoint, Is.EqualTo(Client));
        });
    }

    [TestCase("GET / HTTP/1.1\r\n\r\n", "does not start with a PROXY protocol header")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "bare LF")]
    [TestCase("PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n", "'99999'")]
    public async Task BadHeader_AbortsOnlyThatConnection_ReportedOnErrors(string start, string said)
    {
        int handled = 0;
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                Interlocked.Increment(ref handled);
                await Report(reader, writer);
            },
            "127.0.0.1",
            0,
            Required());
        await using var guard = Loopback.Guard(server);
        var firstError = server.Errors.FirstAsync().ToTask();

        using (var bad = await Loopback.ConnectRawAsync(server.EndPoints[0]))
        {
            await bad.SendAllAsync(start);
            await AssertClosedWithoutReplyAsync(bad);
        }

        var error = await firstError.Within();
        Assert.Multiple(() =>
        {
            Assert.That(error, Is.TypeOf<ProxyProtocolException>());
            Assert.That(error.Message, Does.Contain(said).And.Contain("Refused the connection from 127.0.0.1:"));
            Assert.That(Volatile.Read(ref handled), Is.Zero, "the handler never sees a connection without a valid header");
            Assert.That(server.IsServing, Is.True);
        });

        var reply = await SendAndReadReplyAsync(server, Ascii("PROXY TCP4 203.0.113.7 198.51.100.1 40000 8443\r\nok\n"));
        Assert.That(reply, Does.EndWith("line=ok\n"), "the next connection is served");
    }

    [Test]
    public async Task HeaderLongerThanTheMaximum_RefusedBeforeItIsRead()
    {
        var options = Required();
        options.ProxyProtocolMaxHeaderLength = 256;
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, options);
        await using var guard = Loopback.Guard(server);
        var firstError = server.Errors.FirstAsync().ToTask();
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        // Only the 16-byte prefix is sent: its length field alone condemns it.
        await client.SendAllAsync(V2(0x1, 0x11, [], declaredLength: 60000));

        Assert.That((await firstError.Within()).Message, Does.Contain("60016").And.Contain("256"));
        await AssertClosedWithoutReplyAsync(client);
    }

    [Test]
    public async Task ClientClosesInsideTheHeader_Reported()
    {
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, Required());
        await using var guard = Loopback.Guard(server);
        var firstError = server.Errors.FirstAsync().ToTask();

        using (var client = await Loopback.ConnectRawAsync(server.EndPoints[0]))
        {
            await client.SendAllAsync("PROXY TCP4 1.2");
            client.Shutdown(SocketShutdown.Send);
            await AssertClosedWithoutReplyAsync(client);
        }

        var error = await firstError.Within();
        Assert.That(error, Is.TypeOf<ProxyProtocolException>());
        Assert.That(error.Message, Does.Contain("ended inside a PROXY protocol header, after 14 bytes"));
    }

    [Test]
    public async Task StalledHalfHeader_TimesOutInVirtualTime()
    {
        var scheduler = new TestScheduler();
        var timers = new ObservedScheduler(scheduler);
        var options = Required(timers);
        options.ProxyProtocolTimeout = TimeSpan.FromSeconds(5);
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, options);
        await using var guard = Loopback.Guard(server);
        var firstError = server.Errors.FirstAsync().ToTask();
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await client.SendAllAsync("PROXY TCP4 203.0.113.7 ");

        // The deadline is armed when the setup step starts; then virtual time decides, not the wall clock.
        var due = await timers.FirstScheduled.Within();
        Assert.That(due, Is.EqualTo(TimeSpan.FromSeconds(5)));
        timers.AdvanceBy(TimeSpan.FromSeconds(5).Ticks - 1);
        Assert.That(timers.Fired, Is.False, "one tick before the deadline, the connection is still waiting");
        timers.AdvanceBy(1);

        var error = await firstError.Within();
        Assert.Multiple(() =>
        {
            Assert.That(timers.Fired, Is.True);
            Assert.That(error, Is.TypeOf<TimeoutException>());
            Assert.That(error.Message, Does.Contain("No complete PROXY protocol header").And.Contain("00:00:05"));
        });
        await AssertClosedWithoutReplyAsync(client);
    }

    [Test]
    public async Task CompleteHeader_DisarmsTheDeadline()
    {
        var scheduler = new TestScheduler();
        var timers = new ObservedScheduler(scheduler);
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0, Required(timers));
        await using var guard = Loopback.Guard(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        await client.SendAllAsync("PROXY TCP4 203.0.113.7 198.51.100.1 40000 8443\r\nhi\n");
        var reply = Loopback.Text(await client.ReceiveToEndAsync());
        timers.AdvanceBy(TimeSpan.FromMinutes(5).Ticks);

        Assert.Multiple(() =>
        {
            Assert.That(reply, Does.EndWith("line=hi\n"));
            Assert.That(timers.Fired, Is.False, "the timer was disposed once the header arrived");
        });
    }

    [Test]
    public async Task UnixServer_BehindAProxy_SeesTheTcpClient()
    {
        // HAProxy in front of a Unix socket backend: the socket's peer is unnamed, the header names the TCP client.
        var directory = Directory.CreateTempSubdirectory("rxs-pp-");
        try
        {
            var path = Path.Combine(directory.FullName, "backend.sock");
            var server = await Streams.StartUnixServerAsync(Report, path, Required());
            await using var guard = Loopback.Guard(server);
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path)).WaitAsync(Loopback.Timeout);

            await client.SendAllAsync((byte[])[.. V2Tcp(Client, Service), .. Ascii("over unix\n")]);
            var reply = Loopback.Text(await client.ReceiveToEndAsync());

            Assert.That(reply, Does.StartWith($"peer={Client} sock={Service} ").And.EndWith("v=2 Proxy line=over unix\n"));
            Assert.That(reply, Does.Contain($"proxysock={path}"), "proxy_sockname is the socket's own (the Unix path)");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task Off_ByDefault_HeaderBytesReachTheHandlerUntouched()
    {
        var server = await Streams.StartServerAsync(Report, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        await client.SendAllAsync("PROXY TCP4 203.0.113.7 198.51.100.1 40000 8443\r\n");
        var reply = Loopback.Text(await client.ReceiveToEndAsync());

        Assert.That(reply, Is.EqualTo(
            $"peer={client.LocalEndPoint} sock={client.RemoteEndPoint} proxy=none proxysock=none v=  line=PROXY TCP4 203.0.113.7 198.51.100.1 40000 8443\r\n"));
    }

    /// <summary>
    /// A scheduler that tells when its first timer (the header deadline) is armed and whether that one has fired; the
    /// test scheduler does the timing. Calls are serialized, since the server schedules from its own threads.
    /// </summary>
    private sealed class ObservedScheduler(TestScheduler inner) : IScheduler
    {
        private readonly TaskCompletionSource<TimeSpan> _firstScheduled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _scheduled;
        private volatile bool _fired;

        public Task<TimeSpan> FirstScheduled => _firstScheduled.Task;

        /// <summary>Whether the first timer has run.</summary>
        public bool Fired => _fired;

        public DateTimeOffset Now
        {
            get
            {
                lock (inner)
                {
                    return inner.Now;
                }
            }
        }

        public void AdvanceBy(long ticks)
        {
            lock (inner)
            {
                inner.AdvanceBy(ticks);
            }
        }

        public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
            Schedule(state, TimeSpan.Zero, action);

        public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
        {
            bool first = Interlocked.Increment(ref _scheduled) == 1;
            IDisposable scheduled;
            lock (inner)
            {
                scheduled = inner.Schedule(state, dueTime, (self, s) =>
                {
                    if (first)
                    {
                        _fired = true;
                    }

                    return action(self, s);
                });
            }

            if (first)
            {
                _firstScheduled.TrySetResult(dueTime);
            }

            return new Serialized(inner, scheduled);
        }

        public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
            Schedule(state, dueTime - Now, action);

        private sealed class Serialized(object gate, IDisposable inner) : IDisposable
        {
            public void Dispose()
            {
                lock (gate)
                {
                    inner.Dispose();
                }
            }
        }
    }
}
