using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Reactive.Testing;
using NUnit.Framework;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// The server's connection policies over loopback: a per-client-address cap on open connections and on the connection
/// rate (judged on the address a PROXY header names, when there is one), and the connection-age limit, in virtual time.
/// </summary>
[TestFixture]
public class ConnectionPolicyTests
{
    [Test]
    public async Task PerClientCap_TheSecondConnectionFromOneAddressIsRefused_UntilTheFirstCloses()
    {
        long rejectedCount = 0;
        using var meter = new MeterListener();
        meter.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "RxStreams" && instrument.Name == "rxstreams.server.connections.rejected")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meter.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref rejectedCount, value));
        meter.Start();

        await using var run = await PolicyServer.StartAsync(new ServerOptions { MaxConnectionsPerClient = 1 });
        using var client1 = await Loopback.ConnectRawAsync(run.Server.EndPoints[0]);
        var connection1 = await run.NextAsync();

        await run.ConnectAndExpectRefusalAsync();
        var refusal = await run.NextErrorAsync();
        Assert.That(refusal, Is.InstanceOf<ConnectionRejectedException>().With.Message.Contains("MaxConnectionsPerClient"));
        Assert.That(Interlocked.Read(ref rejectedCount), Is.GreaterThanOrEqualTo(1), "counted in the rejected metric");

        await connection1.DisposeAsync();
        await connection1.Closed.Within();

        // The slot is given back as the close completes, which a connect may overtake: a bounded number of attempts,
        // each refused one a deterministic answer, until one is served.
        // Bounded in time, not in count: on a loaded machine the release can trail the close by more than a burst of
        // fast refusals takes.
        StreamConnection? connection3 = null;
        var bound = System.Diagnostics.Stopwatch.StartNew();
        while (connection3 is null && bound.Elapsed < Loopback.Timeout)
        {
            try
            {
                using var client3 = await Loopback.ConnectRawAsync(run.Server.EndPoints[0]);
                connection3 = await run.NextOutcomeAsync();
            }
            catch (SocketException)
            {
                // Refused before the connect returned: the close has not given the slot back yet.
            }

            if (connection3 is null)
            {
                await Task.Delay(10);
            }
        }

        Assert.That(connection3, Is.Not.Null, "a slot freed by a close is taken again");
    }

    [Test]
    public async Task PerClientCap_JudgesTheAddressThePROXYHeaderNames()
    {
        await using var run = await PolicyServer.StartAsync(new ServerOptions { ProxyProtocol = ProxyProtocolMode.Required, MaxConnectionsPerClient = 1 });

        // Every socket comes from 127.0.0.1; the headers name two clients behind the proxy.
        using var alice = await run.ConnectBehindProxyAsync("10.0.0.1");
        Assert.That(((IPEndPoint)(await run.NextAsync()).RemoteEndPoint!).Address, Is.EqualTo(IPAddress.Parse("10.0.0.1")));
        using var bob = await run.ConnectBehindProxyAsync("10.0.0.2");
        Assert.That(((IPEndPoint)(await run.NextAsync()).RemoteEndPoint!).Address, Is.EqualTo(IPAddress.Parse("10.0.0.2")), "another client behind the same proxy is served");

        using var aliceAgain = await run.ConnectBehindProxyAsync("10.0.0.1");
        var refusal = await run.NextErrorAsync();
        Assert.That(refusal.Message, Does.Contain("10.0.0.1"));
        await PolicyServer.AssertClosedByServerAsync(aliceAgain);
    }

    [Test]
    public async Task PerClientRate_RefusesBeyondTheBucket_AndAcceptsAgainAfterAPeriodOfVirtualTime()
    {
        var scheduler = new TestScheduler();
        await using var run = await PolicyServer.StartAsync(new ServerOptions
        {
            Scheduler = scheduler,
            MaxConnectionRatePerClient = 1,
            ConnectionRatePeriod = TimeSpan.FromMinutes(1),
        });

        using var first = await Loopback.ConnectRawAsync(run.Server.EndPoints[0]);
        await run.NextAsync();
        await run.ConnectAndExpectRefusalAsync();
        Assert.That(await run.NextErrorAsync(), Is.InstanceOf<ConnectionRejectedException>().With.Message.Contains("MaxConnectionRatePerClient"));

        scheduler.AdvanceBy(TimeSpan.FromMinutes(1).Ticks);
        using var third = await Loopback.ConnectRawAsync(run.Server.EndPoints[0]);
        var connection3 = await run.NextAsync();
        Assert.That(connection3.RemoteEndPoint!.ToString(), Is.EqualTo(third.LocalEndPoint!.ToString()), "the bucket was refilled");
    }

    [Test]
    public async Task MaxConnectionAge_RequestsCloseBetweenTheAgeLessTheJitterAndTheAge_ClosingNothingItself()
    {
        var scheduler = new TestScheduler();
        await using var run = await PolicyServer.StartAsync(new ServerOptions
        {
            Scheduler = scheduler,
            MaxConnectionAge = TimeSpan.FromMinutes(10),
            MaxConnectionAgeJitter = TimeSpan.FromMinutes(1),
        });
        using var client = await Loopback.ConnectRawAsync(run.Server.EndPoints[0]);
        var connection = await run.NextAsync();

        scheduler.AdvanceTo(TimeSpan.FromMinutes(9).Ticks - 1);
        Assert.That(connection.CloseRequested.IsCancellationRequested, Is.False, "not before the age less the jitter");
        scheduler.AdvanceTo(TimeSpan.FromMinutes(10).Ticks);
        Assert.Multiple(() =>
        {
            Assert.That(connection.CloseRequested.IsCancellationRequested, Is.True, "asked to close by the age");
            Assert.That(connection.Closed.IsCompleted, Is.False, "the signal closes nothing itself");
        });
    }

    [Test]
    public void Options_AreValidated()
    {
        var options = new ServerOptions();
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxConnectionsPerClient = 0);
            Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxConnectionRatePerClient = -1);
            Assert.Throws<ArgumentOutOfRangeException>(() => options.ConnectionRatePeriod = TimeSpan.Zero);
            Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxConnectionAge = TimeSpan.Zero);
            Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxConnectionAgeJitter = TimeSpan.FromSeconds(-1));
        });
        var jitterOverAge = new ServerOptions { MaxConnectionAge = TimeSpan.FromSeconds(1), MaxConnectionAgeJitter = TimeSpan.FromSeconds(2) };
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Streams.StartServerAsync("127.0.0.1", 0, jitterOverAge));
    }

    /// <summary>A loopback server with the given policies; every delivered connection and every error is queued.</summary>
    private sealed class PolicyServer : IAsyncDisposable
    {
        private readonly Channel<StreamConnection> _accepted = Channel.CreateUnbounded<StreamConnection>();
        private readonly Channel<Exception> _errors = Channel.CreateUnbounded<Exception>();
        private readonly ConcurrentQueue<StreamConnection> _all = new();
        private IDisposable? _subscription;
        private IDisposable? _errorLog;

        public StreamServer Server { get; private set; } = null!;

        public static async Task<PolicyServer> StartAsync(ServerOptions options)
        {
            var run = new PolicyServer { Server = await Streams.StartServerAsync("127.0.0.1", 0, options).Within() };
            run._errorLog = run.Server.Errors.Subscribe(e => run._errors.Writer.TryWrite(e));
            run._subscription = run.Server.Subscribe(c =>
            {
                run._all.Enqueue(c);
                run._accepted.Writer.TryWrite(c);
            });
            return run;
        }

        public Task<StreamConnection> NextAsync() => _accepted.Reader.ReadAsync().AsTask().Within();

        /// <summary>The next delivered connection, or null for the next error, whichever comes first; consumes only that one.</summary>
        public async Task<StreamConnection?> NextOutcomeAsync()
        {
            while (true)
            {
                if (_accepted.Reader.TryRead(out var connection))
                {
                    return connection;
                }

                if (_errors.Reader.TryRead(out _))
                {
                    return null;
                }

                await Task.WhenAny(_accepted.Reader.WaitToReadAsync().AsTask(), _errors.Reader.WaitToReadAsync().AsTask()).Within();
            }
        }

        public Task<Exception> NextErrorAsync() => _errors.Reader.ReadAsync().AsTask().Within();

        public async Task<Socket> ConnectBehindProxyAsync(string clientAddress)
        {
            var socket = await Loopback.ConnectRawAsync(Server.EndPoints[0]);
            await socket.SendAllAsync($"PROXY TCP4 {clientAddress} 10.0.0.100 40000 443\r\n");
            return socket;
        }

        /// <summary>Connects a client the server refuses: the reset may already fail the connect call itself.</summary>
        public async Task ConnectAndExpectRefusalAsync()
        {
            Socket client;
            try
            {
                client = await Loopback.ConnectRawAsync(Server.EndPoints[0]);
            }
            catch (SocketException)
            {
                return; // reset before the connect call returned: closed promptly
            }

            using (client)
            {
                await AssertClosedByServerAsync(client);
            }
        }

        /// <summary>The server aborted the connection: the client reads an EOF or a reset, never data, within the bound.</summary>
        public static async Task AssertClosedByServerAsync(Socket client)
        {
            try
            {
                int read = await client.ReceiveAsync(new byte[1]).Within();
                Assert.That(read, Is.Zero, "refused: closed without a byte");
            }
            catch (SocketException)
            {
                // A reset: closed, as asked.
            }
        }

        public async ValueTask DisposeAsync()
        {
            _subscription?.Dispose();
            _errorLog?.Dispose();
            foreach (var connection in _all)
            {
                connection.Abort();
            }

            await Server.ShutdownAsync(TimeSpan.Zero).Within();
        }
    }
}
