using System.Globalization;
using System.Net.Sockets;
using System.Reactive.Disposables;
using System.Text;
using Microsoft.Reactive.Testing;
using RxStreams.Testing.Simulation;

namespace RxStreams.Testing;

/// <summary>
/// A network in virtual time, for testing whole systems (servers, clients, reconnects, timeouts) deterministically: named
/// hosts (<see cref="Host"/>) listen and connect with real <see cref="StreamConnection"/>s; links between them have
/// latency, jitter, bandwidth, a segment size and a buffer (<see cref="Link"/>); faults strike on a timeline
/// (<see cref="At"/>) or at random (<see cref="InjectRandomFaults"/>): partitions, resets, crashed hosts (half-open
/// peers), refused connects. Everything runs on <see cref="Scheduler"/>, a <see cref="TestScheduler"/>, and every
/// random choice comes from <see cref="Seed"/>: the same seed gives the same <see cref="Trace"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>TCP semantics.</b> Bytes arrive in order and none is lost while a connection lives: a partition or a crashed host
/// holds what is in flight and sends it again once the path is back. A FIN arrives after the bytes before it (the
/// reader completes); a reset ends the receiving connection with an <see cref="IOException"/> whose inner exception is a
/// <see cref="SocketException"/> with <see cref="SocketError.ConnectionReset"/>, after the bytes its socket already
/// held. Data that reaches a socket its application closed, or a host that lost the connection in a crash, is answered
/// with a reset. A connect to a port nobody listens on is refused with a <see cref="SocketException"/>
/// (<see cref="SocketError.ConnectionRefused"/>). Each direction holds at most <see cref="LinkSettings.BufferSize"/>
/// bytes in flight plus <see cref="SimulationOptions.SocketBufferSize"/> in each socket, so a receiver that does not
/// read pushes back on the sender's <see cref="ConnectionWriter"/> as a real one would.
/// </para>
/// <para>
/// <b>The facade.</b> Applications use <see cref="SimulatedHost.Listen(int, Action{StreamConnection}, ConnectionOptions?)"/>
/// instead of <see cref="Streams.StartServerAsync(string?, int, ServerOptions?, CancellationToken)"/> and
/// <see cref="SimulatedHost.ConnectAsync"/> instead of <see cref="Streams.OpenConnectionAsync(string, int, ConnectionOptions?, CancellationToken)"/>;
/// what they get is the library's own connection (an in-memory one, whose far end the network drives), so reader,
/// writer, framing, timeouts and backpressure are the real ones. Endpoints are <see cref="InMemoryEndPoint"/>s named
/// <c>host:port</c>. Code written against a <c>Func&lt;string, int, Task&lt;StreamConnection&gt;&gt;</c> (a connect
/// function) and an accept callback runs unchanged over sockets and here.
/// </para>
/// <para>
/// <b>Determinism: the model.</b> The library runs read loops, flushes and continuations on the thread pool, so a
/// simulation cannot own every thread. Instead it never lets virtual time move while anything runs: each action of
/// <see cref="Scheduler"/> (a delivery, a timeout, an application timer) starts only once the thread pool is idle, and
/// is followed by a wait until it is idle again, so whatever the action set off (a handler reading, answering, a client
/// resuming after an await) has run to its next wait at the same virtual time. Only then, on the driver thread and in a
/// fixed order, does the network look at what was sent, cut it into segments and draw their arrival times from each
/// direction's own random stream (derived from the seed, the connection number and the direction). Segments are
/// delivered one per action, so how a receiver's chunks are cut is decided by the seed, not by thread timing.
/// </para>
/// <para>
/// <b>Determinism: the limits.</b> (1) Drive time only through this network (<see cref="RunFor"/>, <see cref="RunUntil(TimeSpan)"/>,
/// <see cref="RunUntil(Func{bool}, TimeSpan)"/>) or through <see cref="Scheduler"/> itself, and give every timer and
/// timeout that scheduler (connections made here get it in their <see cref="ConnectionOptions.Scheduler"/>); real time
/// (<see cref="Task.Delay(TimeSpan)"/>, <see cref="Timer"/>) is outside the model. (2) Application code must not block a
/// pool thread waiting for something only virtual time brings (<c>.Wait()</c>, <c>.Result</c>): a step then fails with
/// a <see cref="TimeoutException"/> after <see cref="SimulationOptions.SettleTimeout"/>. (3) The idle check is
/// process-wide: thread-pool work of something else in the process (tests running in parallel) only slows steps down.
/// (4) Two threads of one step racing each other in the application (two connects from the same host in the same step,
/// two timers scheduled at the same tick from different threads) are ordered as they happen; everything the network
/// decides itself is ordered by host name, connection number and direction. (5) Start application code with
/// <see cref="Spawn(Func{Task})"/> (or from a listener or a scheduled action) so its continuations never go to a test
/// framework's synchronization context.
/// </para>
/// <para>
/// <b>Record.</b> <see cref="Trace"/> lists, with virtual times, every SYN, accept, refusal, segment delivered (with its
/// bytes), FIN, reset and fault; compare it between two runs of a seed, or print it when an invariant fails.
/// </para>
/// </remarks>
public sealed class SimulatedNetwork : IDisposable
{
    private readonly SimulationScheduler _scheduler;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, SimulatedHost> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), LinkSettings> _links = [];
    private readonly HashSet<(string, string)> _partitions = [];
    private readonly List<SimulatedConnection> _connections = [];
    private readonly HashSet<LinkDirection> _dirty = [];
    private readonly List<ConnectRequest> _requests = [];
    private readonly List<string> _trace = [];
    private readonly List<Exception> _errors = [];
    private readonly SimRandom _random;
    private readonly ThreadPoolQuiescence _quiescence = new();
    private long _requestSequence;
    private int _nextConnectionId;
    private volatile bool _stepping;
    private int _kickScheduled;
    private bool _disposed;

    /// <summary>Creates a network whose every random choice comes from <paramref name="seed"/>.</summary>
    /// <param name="seed">The seed: the same seed (and the same application) gives the same run.</param>
    /// <param name="options">Default link settings, socket buffers, connect and settle timeouts; defaults when <see langword="null"/>.</param>
    public SimulatedNetwork(int seed, SimulationOptions? options = null)
    {
        Seed = seed;
        Options = options ?? new SimulationOptions();
        _random = new SimRandom(SimRandom.Derive(seed, "network"));
        _scheduler = new SimulationScheduler(Step);
    }

    /// <summary>The seed every random choice of the network comes from.</summary>
    public int Seed { get; }

    /// <summary>The settings given at creation.</summary>
    public SimulationOptions Options { get; }

    /// <summary>
    /// The virtual clock: a <see cref="TestScheduler"/> whose every action runs only when the system is quiescent (see
    /// the remarks). Give it to timers and timeouts (<c>Observable.Timer(t, network.Scheduler)</c>,
    /// <see cref="ConnectionOptions.Scheduler"/>); drive it with <see cref="RunFor"/> or <see cref="RunUntil(TimeSpan)"/>
    /// (or its own <c>AdvanceBy</c>, <c>AdvanceTo</c>, <c>Start</c>).
    /// </summary>
    public TestScheduler Scheduler => _scheduler;

    /// <summary>The current virtual time.</summary>
    public TimeSpan Now => TimeSpan.FromTicks(_scheduler.Clock);

    /// <summary>What happened so far, one line per event, each starting with its virtual time in seconds.</summary>
    public IReadOnlyList<string> Trace
    {
        get
        {
            lock (_gate)
            {
                return _trace.ToArray();
            }
        }
    }

    /// <summary>Exceptions thrown by listeners' callbacks and handlers (each also aborted its connection).</summary>
    public IReadOnlyList<Exception> Errors
    {
        get
        {
            lock (_gate)
            {
                return _errors.ToArray();
            }
        }
    }

    internal long Clock => _scheduler.Clock;

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

    /// <summary>Cuts the path between two hosts: nothing crosses it (what is in flight waits) until <see cref="Heal"/>.</summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    public void Partition(string hostA, string hostB)
    {
        ArgumentNullException.ThrowIfNull(hostA);
        ArgumentNullException.ThrowIfNull(hostB);
        lock (_gate)
        {
            if (_partitions.Add(Pair(hostA, hostB)))
            {
                RecordLocked($"partition {Pair(hostA, hostB).Item1}|{Pair(hostA, hostB).Item2}");
            }
        }
    }

    /// <summary>Restores the path between two hosts; what waited is sent again.</summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    public void Heal(string hostA, string hostB)
    {
        ArgumentNullException.ThrowIfNull(hostA);
        ArgumentNullException.ThrowIfNull(hostB);
        lock (_gate)
        {
            if (!_partitions.Remove(Pair(hostA, hostB)))
            {
                return;
            }

            RecordLocked($"heal {Pair(hostA, hostB).Item1}|{Pair(hostA, hostB).Item2}");
        }

        UnblockAll();
    }

    /// <summary>Restores every path cut by <see cref="Partition"/>.</summary>
    public void HealAll()
    {
        foreach (var (a, b) in Partitions())
        {
            Heal(a, b);
        }
    }

    /// <summary>Whether the path between two hosts is cut.</summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    /// <returns>True between <see cref="Partition"/> and <see cref="Heal"/>.</returns>
    public bool IsPartitioned(string hostA, string hostB)
    {
        lock (_gate)
        {
            return _partitions.Contains(Pair(hostA, hostB));
        }
    }

    /// <summary>
    /// Resets every open connection between two hosts at once (a middlebox's RST both ways): each side's reader fails with
    /// a <see cref="SocketError.ConnectionReset"/> <see cref="IOException"/>, what was in flight is lost, and a connect
    /// still waiting for its answer fails.
    /// </summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    public void Reset(string hostA, string hostB)
    {
        var a = Host(hostA);
        var b = Host(hostB);
        foreach (var connection in LiveConnections().Where(c => c.Between(a, b)))
        {
            Record($"{connection} reset by the network");
            connection.Request.Completion.TrySetException(Wrap(SocketError.ConnectionReset));
            foreach (var end in new[] { connection.Client, connection.Server })
            {
                end.Terminated = true;
                end.Nic.Abort();
            }

            connection.ToServer.Discard();
            connection.ToClient.Discard();
        }
    }

    /// <summary>Runs <paramref name="action"/> at virtual time <paramref name="time"/> (a fault on a timeline: <c>network.At(TimeSpan.FromSeconds(3), () =&gt; network.Partition("app", "db"))</c>).</summary>
    /// <param name="time">When, from the start of the simulation.</param>
    /// <param name="action">What to do.</param>
    public void At(TimeSpan time, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ScheduleAt(time.Ticks, action);
    }

    /// <summary>
    /// Schedules <see cref="RandomFaults.Count"/> faults at times drawn from the seed between <see cref="RandomFaults.From"/>
    /// and <see cref="RandomFaults.Until"/>; each picks, when it strikes, among the hosts that exist then.
    /// </summary>
    /// <param name="faults">Which kinds of faults, how many, when and how long.</param>
    public void InjectRandomFaults(RandomFaults faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        var kinds = new List<int>();
        if (faults.Partitions)
        {
            kinds.Add(0);
        }

        if (faults.Resets)
        {
            kinds.Add(1);
        }

        if (faults.Refusals)
        {
            kinds.Add(2);
        }

        if (faults.Crashes)
        {
            kinds.Add(3);
        }

        if (kinds.Count == 0)
        {
            return;
        }

        long span = Math.Max(1, faults.Until.Ticks - faults.From.Ticks);
        for (int i = 0; i < faults.Count; i++)
        {
            long at = faults.From.Ticks + _random.NextLong(span);
            int kind = kinds[(int)_random.NextLong(kinds.Count)];
            long duration = 1 + _random.NextLong(Math.Max(1, faults.MaxDuration.Ticks));
            ScheduleAt(at, () => StrikeRandomFault(kind, duration));
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> (a client, a test's script) inside the simulation, at the current virtual time:
    /// its continuations run on the thread pool, never on the caller's synchronization context.
    /// </summary>
    /// <param name="work">The code to run.</param>
    /// <returns>Its task.</returns>
    public Task Spawn(Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return Spawn(async () =>
        {
            await work().ConfigureAwait(false);
            return true;
        });
    }

    /// <inheritdoc cref="Spawn(Func{Task})"/>
    /// <typeparam name="T">The work's result.</typeparam>
    public Task<T> Spawn<T>(Func<Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        ScheduleAt(Clock, () =>
        {
            Task<T> running;
            try
            {
                running = work();
            }
#pragma warning disable CA1031 // handed to the caller through the task
            catch (Exception error)
#pragma warning restore CA1031
            {
                running = Task.FromException<T>(error);
            }

            _ = Forward(running, result);
        });
        return result.Task;
    }

    /// <summary>
    /// Completes after <paramref name="delay"/> of virtual time (a client's backoff, a think time): the simulation's
    /// <c>Task.Delay</c>. Its continuation runs on the thread pool.
    /// </summary>
    /// <param name="delay">How long, in virtual time.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes at <see cref="Now"/> + <paramref name="delay"/>.</returns>
    public Task Delay(TimeSpan delay, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = _scheduler.ScheduleAbsolute(done, Clock + Math.Max(0, delay.Ticks), static (_, d) =>
        {
            d.TrySetResult();
            return Disposable.Empty;
        });
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                timer.Dispose();
                done.TrySetCanceled(cancellationToken);
            });
            done.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return done.Task;
    }

    /// <summary>A <see cref="Random"/> for the test's own choices (a client's backoff jitter), derived from the seed and <paramref name="name"/>.</summary>
    /// <param name="name">Which stream: each name gives its own sequence.</param>
    /// <returns>A new generator; use it from simulated code only (its sequence is deterministic, its callers must be too).</returns>
    public Random CreateRandom(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
#pragma warning disable CA5394 // not for security: a reproducible stream is the point
        return new Random((int)SimRandom.Derive(Seed, "user:" + name));
#pragma warning restore CA5394
    }

    /// <summary>Advances virtual time by <paramref name="duration"/>, running everything due meanwhile.</summary>
    /// <param name="duration">How much virtual time to run.</param>
    public void RunFor(TimeSpan duration) => RunUntil(Now + duration);

    /// <summary>Advances virtual time to <paramref name="time"/>, running everything due until then.</summary>
    /// <param name="time">The virtual time to reach; nothing happens if it is past.</param>
    public void RunUntil(TimeSpan time)
    {
        Settle();
        if (time.Ticks > Clock)
        {
            _scheduler.AdvanceTo(time.Ticks);
        }
    }

    /// <summary>
    /// Runs until <paramref name="condition"/> holds (checked at quiescent moments only, so the answer is deterministic)
    /// or virtual time reaches <paramref name="deadline"/>.
    /// </summary>
    /// <param name="condition">What to wait for.</param>
    /// <param name="deadline">The virtual time not to pass.</param>
    /// <returns>Whether <paramref name="condition"/> holds.</returns>
    public bool RunUntil(Func<bool> condition, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(condition);
        Settle();
        while (!condition())
        {
            if (!_scheduler.TryPeekNext(out long due) || due > deadline.Ticks)
            {
                if (deadline.Ticks > Clock)
                {
                    _scheduler.AdvanceTo(deadline.Ticks);
                }

                return condition();
            }

            _scheduler.AdvanceTo(Math.Max(due, Clock));
        }

        return true;
    }

    /// <summary>Aborts every connection and fails every pending connect. Idempotent.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (var connection in LiveConnections())
        {
            foreach (var end in new[] { connection.Client, connection.Server })
            {
                end.Terminated = true;
                end.Nic.Abort();
                end.App.Abort();
            }

            connection.ToServer.Discard();
            connection.ToClient.Discard();
        }

        lock (_gate)
        {
            foreach (var request in _requests)
            {
                request.Completion.TrySetException(new ObjectDisposedException(nameof(SimulatedNetwork)));
            }

            _requests.Clear();
        }
    }

    internal static string Escape(ReadOnlySpan<byte> data)
    {
        const int shown = 48;
        var text = new StringBuilder();
        foreach (byte b in data[..Math.Min(shown, data.Length)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\\' => "\\\\",
                (byte)'"' => "\\\"",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => "\\x" + b.ToString("X2", CultureInfo.InvariantCulture),
            });
        }

        return data.Length > shown ? text.Append("...").ToString() : text.ToString();
    }

    internal ConnectionOptions Adopt(ConnectionOptions? options)
    {
        options ??= new ConnectionOptions();
        options.Scheduler = _scheduler; // every timeout in virtual time, like TestSchedulerConnectionExtensions.CreateConnection
        return options;
    }

    internal LinkSettings Settings(SimulatedHost a, SimulatedHost b) => Link(a.Name, b.Name);

    internal bool IsBlocked(SimulatedHost a, SimulatedHost b) => !a.IsUp || !b.IsUp || IsPartitioned(a.Name, b.Name);

    internal void Record(string text)
    {
        lock (_gate)
        {
            RecordLocked(text);
        }
    }

    internal void ReportError(Exception error)
    {
        lock (_gate)
        {
            _errors.Add(error);
            RecordLocked($"handler failed: {error.GetType().Name}");
        }
    }

    internal void MarkDirty(LinkDirection direction)
    {
        lock (_gate)
        {
            _dirty.Add(direction);
        }

        KickIfIdle();
    }

    internal void ScheduleAt(long dueTime, Action action) =>
        _scheduler.ScheduleAbsolute(action, dueTime, static (_, a) =>
        {
            a();
            return Disposable.Empty;
        });

    internal Task<StreamConnection> ConnectAsync(SimulatedHost from, string toHost, int port, ConnectionOptions options, CancellationToken cancellationToken)
    {
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
        return request.Completion.Task;
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

    internal void Crash(SimulatedHost host)
    {
        if (!host.IsUp)
        {
            return;
        }

        host.IsUp = false;
        Record($"{host.Name} crashed");
        foreach (var connection in LiveConnections().Where(c => c.Touches(host)))
        {
            foreach (var (end, outgoing) in new[] { (connection.Client, connection.ToServer), (connection.Server, connection.ToClient) })
            {
                if (end.Host != host)
                {
                    continue;
                }

                end.Vanished = true;
                end.Terminated = true;
                end.Nic.Abort(); // the application on the crashed host loses its connection at once
                outgoing.Discard(); // and nothing of it ever leaves
                if (end == connection.Client)
                {
                    connection.Request.Completion.TrySetException(Wrap(SocketError.ConnectionAborted));
                }
            }
        }
    }

    internal void Restart(SimulatedHost host)
    {
        if (host.IsUp)
        {
            return;
        }

        host.IsUp = true;
        Record($"{host.Name} restarted");
        UnblockAll();
    }

    private static (string, string) Pair(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);

    private static IOException Wrap(SocketError error) =>
        new(new SocketException((int)error).Message, new SocketException((int)error));

    private static async Task Forward<T>(Task<T> running, TaskCompletionSource<T> result)
    {
        try
        {
            result.TrySetResult(await running.ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            result.TrySetCanceled();
        }
#pragma warning disable CA1031 // handed to the caller through the task
        catch (Exception error)
#pragma warning restore CA1031
        {
            result.TrySetException(error);
        }
    }

    private void RecordLocked(string text)
    {
        long ticks = _scheduler.Clock;
        _trace.Add(string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerSecond}.{ticks % TimeSpan.TicksPerSecond:D7} {text}"));
    }

    private (string, string)[] Partitions()
    {
        lock (_gate)
        {
            return _partitions.Order().ToArray();
        }
    }

    private List<SimulatedConnection> LiveConnections()
    {
        lock (_gate)
        {
            _connections.RemoveAll(static c => c.IsDone);
            return _connections.ToList();
        }
    }

    private void UnblockAll()
    {
        long now = Clock;
        foreach (var connection in LiveConnections())
        {
            connection.ToServer.Unblock(now);
            connection.ToClient.Unblock(now);
        }
    }

    /// <summary>What every scheduler action is wrapped in, before and after: wait for quiescence, then decide.</summary>
    private void Step(bool starting)
    {
        if (starting)
        {
            _stepping = true;
            Settle();
        }
        else
        {
            Settle();
            _stepping = false;
        }
    }

    /// <summary>Waits until the pool is idle, then handles connects and sends in a fixed order, until nothing is left.</summary>
    private void Settle()
    {
        while (true)
        {
            _quiescence.WaitUntilIdle(Options.SettleTimeout);
            ConnectRequest[] requests;
            LinkDirection[] dirty;
            lock (_gate)
            {
                requests = _requests
                    .OrderBy(static r => r.From.Name, StringComparer.Ordinal)
                    .ThenBy(static r => r.ToHost, StringComparer.Ordinal)
                    .ThenBy(static r => r.Port)
                    .ThenBy(static r => r.Sequence)
                    .ToArray();
                _requests.Clear();
                dirty = _dirty.OrderBy(static d => d.Connection.Id).ThenBy(static d => d.Index).ToArray();
                _dirty.Clear();
            }

            if (requests.Length == 0 && dirty.Length == 0)
            {
                return;
            }

            long now = Clock;
            foreach (var request in requests)
            {
                SendSyn(request, now);
            }

            foreach (var direction in dirty)
            {
                direction.Transmit(now);
            }
        }
    }

    /// <summary>Something changed outside a step (test code between runs): make sure a step comes to handle it.</summary>
    private void KickIfIdle()
    {
        if (_stepping || Interlocked.Exchange(ref _kickScheduled, 1) != 0)
        {
            return;
        }

        ScheduleAt(Clock, () => Volatile.Write(ref _kickScheduled, 0));
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

    private void StrikeRandomFault(int kind, long duration)
    {
        SimulatedHost[] hosts;
        lock (_gate)
        {
            hosts = _hosts.Values.ToArray(); // sorted by name
        }

        if (hosts.Length == 0 || (kind < 2 && hosts.Length < 2))
        {
            return;
        }

        var a = hosts[_random.NextLong(hosts.Length)];
        var others = hosts.Where(h => h != a).ToArray();
        switch (kind)
        {
            case 0:
                var b = others[_random.NextLong(others.Length)];
                Partition(a.Name, b.Name);
                ScheduleAt(Clock + duration, () => Heal(a.Name, b.Name));
                break;
            case 1:
                Reset(a.Name, others[_random.NextLong(others.Length)].Name);
                break;
            case 2:
                a.RefusesConnections = true;
                ScheduleAt(Clock + duration, () => a.RefusesConnections = false);
                break;
            default:
                a.Crash();
                ScheduleAt(Clock + duration, a.Restart);
                break;
        }
    }
}
