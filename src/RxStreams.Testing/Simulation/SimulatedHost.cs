using System.Net.Sockets;
using RxStreams.Testing.Simulation;

namespace RxStreams.Testing;

/// <summary>
/// A named machine of a <see cref="SimulatedNetwork"/>: it listens on ports and connects to other hosts, handing out real
/// <see cref="StreamConnection"/>s (the library's reader, writer and framing), and it can crash and come back.
/// Get one with <see cref="SimulatedNetwork.Host"/>.
/// </summary>
public sealed class SimulatedHost
{
    private readonly Dictionary<int, SimulatedListener> _listeners = [];
    private volatile bool _refuses;

    internal SimulatedHost(SimulatedNetwork network, string name)
    {
        Network = network;
        Name = name;
    }

    /// <summary>The host's name, which other hosts connect to.</summary>
    public string Name { get; }

    /// <summary>The network the host belongs to.</summary>
    public SimulatedNetwork Network { get; }

    /// <summary>Whether the host is running: false between <see cref="Crash"/> and <see cref="Restart"/>.</summary>
    public bool IsUp { get; internal set; } = true;

    /// <summary>
    /// When true, connects to this host are refused (the SYN is answered with a reset: a
    /// <see cref="SocketException"/> with <see cref="SocketError.ConnectionRefused"/>), as if its listeners were down.
    /// </summary>
    public bool RefusesConnections
    {
        get => _refuses;
        set
        {
            _refuses = value;
            Network.Record($"{Name} {(value ? "refuses" : "accepts")} connections");
        }
    }

    internal int NextEphemeralPort { get; set; } = 49152;

    /// <summary>
    /// Listens on <paramref name="port"/>: each accepted connection is given to <paramref name="onConnection"/>, on the
    /// simulation's thread (like <c>server.Subscribe(connection =&gt; ...)</c> on a <see cref="StreamServer"/>).
    /// </summary>
    /// <param name="port">The port other hosts connect to.</param>
    /// <param name="onConnection">Takes each connection; it owns it and must close it. An exception it throws aborts the connection and is kept in <see cref="SimulatedNetwork.Errors"/>.</param>
    /// <param name="options">The accepted connections' settings; their <see cref="ConnectionOptions.Scheduler"/> is set to the network's.</param>
    /// <returns>Dispose it to stop listening (later connects are refused; accepted connections go on).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="onConnection"/> is <see langword="null"/>.</exception>
    /// <exception cref="SocketException">The port is taken (<see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    public IDisposable Listen(int port, Action<StreamConnection> onConnection, ConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onConnection);
        options = Network.Adopt(options);
        lock (_listeners)
        {
            if (_listeners.ContainsKey(port))
            {
                throw new SocketException((int)SocketError.AddressAlreadyInUse);
            }

            var listener = new SimulatedListener(this, port, onConnection, options);
            _listeners.Add(port, listener);
            Network.Record($"{Name}:{port} listening");
            return listener;
        }
    }

    /// <summary>
    /// Listens on <paramref name="port"/> with an asyncio-style handler, as <see cref="Streams.StartServerAsync(Func{ConnectionReader, ConnectionWriter, Task}, string?, int, ServerOptions?, CancellationToken)"/>
    /// does: when the handler's task completes the connection is closed gracefully; when it throws, the connection is
    /// aborted and the exception is kept in <see cref="SimulatedNetwork.Errors"/>.
    /// </summary>
    /// <param name="port">The port other hosts connect to.</param>
    /// <param name="handler">The handler, run once per connection.</param>
    /// <param name="options">The accepted connections' settings; their <see cref="ConnectionOptions.Scheduler"/> is set to the network's.</param>
    /// <returns>Dispose it to stop listening.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="SocketException">The port is taken.</exception>
    public IDisposable Listen(int port, Func<ConnectionReader, ConnectionWriter, Task> handler, ConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Listen(port, connection => _ = RunHandlerAsync(connection, handler), options);
    }

    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/>: the SYN crosses the link (and waits out partitions,
    /// sent again after 1, 2, 4... s), a listener accepts, and the connection is returned when the SYN-ACK is back.
    /// </summary>
    /// <param name="host">The name of the host to reach.</param>
    /// <param name="port">Its port.</param>
    /// <param name="options">The connection's settings; its <see cref="ConnectionOptions.Scheduler"/> is set to the
    /// network's, and its <see cref="ConnectionOptions.ConnectTimeout"/> bounds the wait (in virtual time).</param>
    /// <param name="cancellationToken">Abandons the connect.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="SocketException">Refused (<see cref="SocketError.ConnectionRefused"/>: nobody listens, or the host
    /// refuses), or no answer within <see cref="SimulationOptions.ConnectTimeout"/> (<see cref="SocketError.TimedOut"/>).</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ConnectionOptions.ConnectTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public Task<StreamConnection> ConnectAsync(string host, int port, ConnectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        return Network.ConnectAsync(this, host, port, Network.Adopt(options), cancellationToken);
    }

    /// <summary>
    /// The host vanishes (power loss): its connections end at once on its side, without a FIN or a reset reaching the
    /// peers, which keep them open (half-open) until they send something after <see cref="Restart"/> (and get a reset) or
    /// their own timeout strikes. What is sent to it meanwhile waits, as TCP would retransmit it. Its listeners stop.
    /// </summary>
    public void Crash() => Network.Crash(this);

    /// <summary>The host is back: its listeners accept again (as a supervisor would restart the service), and what reaches a connection it lost is answered with a reset.</summary>
    public void Restart() => Network.Restart(this);

    /// <summary>The host's name.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;

    internal SimulatedListener? ListenerOn(int port)
    {
        lock (_listeners)
        {
            return _listeners.GetValueOrDefault(port);
        }
    }

    internal void Remove(SimulatedListener listener)
    {
        lock (_listeners)
        {
            if (_listeners.GetValueOrDefault(listener.Port) == listener)
            {
                _listeners.Remove(listener.Port);
                Network.Record($"{Name}:{listener.Port} stopped listening");
            }
        }
    }

    private async Task RunHandlerAsync(StreamConnection connection, Func<ConnectionReader, ConnectionWriter, Task> handler)
    {
        try
        {
            await handler(connection.Reader, connection.Writer).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a handler's failure is the connection's end and a reported error, never the network's
        catch (Exception error)
#pragma warning restore CA1031
        {
            connection.Abort();
            Network.ReportError(error);
            return;
        }

        connection.Dispose();
    }
}
