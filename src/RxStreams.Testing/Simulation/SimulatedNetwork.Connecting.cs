using System.Net.Sockets;
using RxStreams.Testing.Simulation;

namespace RxStreams.Testing;

// Hosts, links and connecting: the SYN, its retries and refusals, the accept and the established handshake; the type's docs are in SimulatedNetwork.cs.
public sealed partial class SimulatedNetwork
{
    /// <summary>The host named <paramref name="name"/>, created on first use.</summary>
    /// <param name="name">The host's name.</param>
    /// <returns>The host.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or contains white space or ':'.</exception>
    public SimulatedHost Host(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Any(static c => char.IsWhiteSpace(c) || c == ':'))
        {
            throw new ArgumentException("A host name has no white space and no ':'.", nameof(name));
        }

        lock (_gate)
        {
            if (!_hosts.TryGetValue(name, out var host))
            {
                host = new SimulatedHost(this, name);
                _hosts.Add(name, host);
            }

            return host;
        }
    }

    /// <summary>The settings of the link between two hosts (both directions), copied from <see cref="SimulationOptions.DefaultLink"/> on first use; change them at any time.</summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    /// <returns>The link's settings.</returns>
    public LinkSettings Link(string hostA, string hostB)
    {
        ArgumentNullException.ThrowIfNull(hostA);
        ArgumentNullException.ThrowIfNull(hostB);
        lock (_gate)
        {
            var key = Pair(hostA, hostB);
            if (!_links.TryGetValue(key, out var settings))
            {
                settings = Options.DefaultLink.Clone();
                _links.Add(key, settings);
            }

            return settings;
        }
    }

    internal ConnectionOptions Adopt(ConnectionOptions? options)
    {
        options ??= new ConnectionOptions();
        options.Scheduler = _scheduler; // every timeout in virtual time, like TestSchedulerConnectionExtensions.CreateConnection
        return options;
    }

    internal LinkSettings Settings(SimulatedHost a, SimulatedHost b) => Link(a.Name, b.Name);

    internal bool IsBlocked(SimulatedHost a, SimulatedHost b) => !a.IsUp || !b.IsUp || IsPartitioned(a.Name, b.Name);

    internal Task<StreamConnection> ConnectAsync(SimulatedHost from, string toHost, int port, ConnectionOptions options, CancellationToken cancellationToken)
    {
        _thread.CheckThread("a connect");
        ConnectRequest request;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            request = new ConnectRequest(from, toHost, port, options, _requestSequence++);
            _requests.Add(request);
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(static state => ((ConnectRequest)state!).Completion.TrySetCanceled(), request);
            request.Completion.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        KickIfIdle();
        return _thread.Defer(request.Completion.Task);
    }

    /// <summary>The SYN-ACK reached the client: the application gets its connection, or, if it gave up, the server a reset.</summary>
    internal void Established(SimulatedConnection connection)
    {
        var request = connection.Request;
        if (request.Completion.TrySetResult(connection.Client.App))
        {
            Record($"{connection} established {connection.Client.Name}>{connection.Server.Name}");
            return;
        }

        Record($"{connection} SYN-ACK after the client gave up: RST");
        connection.Client.Terminated = true;
        connection.Client.Nic.Abort();
        connection.Client.App.Abort();
        connection.ToClient.Discard();
        connection.ToServer.RequestReset();
    }

    private void SendSyn(ConnectRequest request, long now)
    {
        if (request.Completion.Task.IsCompleted)
        {
            return; // cancelled before it left
        }

        var from = request.From;
        request.ClientPort = from.NextEphemeralPort++;
        Record($"SYN {from.Name}:{request.ClientPort}>{request.ToHost}:{request.Port}");
        var timeout = request.Options.ConnectTimeout is { } own && own < Options.ConnectTimeout ? own : Options.ConnectTimeout;
        bool ownTimeout = request.Options.ConnectTimeout is { } t && t <= Options.ConnectTimeout;
        ScheduleAt(now + timeout.Ticks, () =>
        {
            Exception error = ownTimeout
                ? new TimeoutException($"Connecting to {request.ToHost}:{request.Port} took longer than {timeout}.")
                : new SocketException((int)SocketError.TimedOut);
            if (request.Completion.TrySetException(error))
            {
                Record($"connect {from.Name}:{request.ClientPort}>{request.ToHost}:{request.Port} timed out");
            }
        });
        ScheduleAt(now + OneWay(from.Name, request.ToHost), () => SynArrives(request, 0));
    }

    private long OneWay(string a, string b)
    {
        var settings = Link(a, b);
        return settings.Latency.Ticks + _random.NextLong(settings.Jitter.Ticks + 1);
    }

    private void SynArrives(ConnectRequest request, int attempt)
    {
        if (request.Completion.Task.IsCompleted)
        {
            return; // the client gave up: no more SYNs
        }

        SimulatedHost? target;
        lock (_gate)
        {
            target = _hosts.GetValueOrDefault(request.ToHost);
        }

        long now = Clock;
        if (target is null || IsBlocked(request.From, target))
        {
            long retry = TimeSpan.TicksPerSecond << Math.Min(attempt, 6);
            Record($"SYN {request.From.Name}:{request.ClientPort}>{request.ToHost}:{request.Port} lost; again in {retry / TimeSpan.TicksPerSecond} s");
            ScheduleAt(now + retry, () => SynArrives(request, attempt + 1));
            return;
        }

        var listener = target.ListenerOn(request.Port);
        if (listener is null || target.RefusesConnections)
        {
            Record($"SYN {request.From.Name}:{request.ClientPort}>{request.ToHost}:{request.Port} refused");
            ScheduleAt(now + OneWay(request.From.Name, target.Name), () =>
            {
                if (IsBlocked(request.From, target))
                {
                    SynArrives(request, attempt + 1); // the refusal was lost: the client will send its SYN again
                }
                else
                {
                    request.Completion.TrySetException(new SocketException((int)SocketError.ConnectionRefused));
                }
            });
            return;
        }

        Accept(request, target, listener, now);
    }

    private void Accept(ConnectRequest request, SimulatedHost target, SimulatedListener listener, long now)
    {
        SimulatedConnection connection;
        var client = new SimEnd(request.From, request.ClientPort);
        var server = new SimEnd(target, request.Port);
        lock (_gate)
        {
            connection = new SimulatedConnection(this, ++_nextConnectionId, client, server, request);
            _connections.Add(connection);
        }

        request.Connection = connection;
        var clientName = new InMemoryEndPoint(client.Name);
        var serverName = new InMemoryEndPoint(server.Name);
        var clientPair = InMemoryConnection.CreatePair(clientName, request.Options, serverName, NicOptions(), Options.SocketBufferSize);
        var serverPair = InMemoryConnection.CreatePair(clientName, NicOptions(), serverName, listener.Options, Options.SocketBufferSize);
        client.App = clientPair.Client;
        client.Nic = clientPair.Server;
        server.Nic = serverPair.Client;
        server.App = serverPair.Server;
        client.Nic.Writer.SetWriteBufferLimits(0, 0); // "paused" while anything is not yet in the socket: deliveries wait for it
        server.Nic.Writer.SetWriteBufferLimits(0, 0);
        Record($"{connection} accepted {client.Name}>{server.Name}");
        _ = connection.ToServer.PumpAsync();
        _ = connection.ToClient.PumpAsync();
        connection.ToClient.SendSynAck(now);
        try
        {
            listener.Accept(server.App);
        }
#pragma warning disable CA1031 // a listener's failure aborts its connection and is reported, never the network's
        catch (Exception error)
#pragma warning restore CA1031
        {
            server.App.Abort();
            ReportError(error);
        }
    }

    private ConnectionOptions NicOptions() => new() { Scheduler = _scheduler };
}
