using System.Globalization;
using System.Net.Sockets;
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
/// <b>Determinism: one thread.</b> A network runs everything of the simulated system on one thread of its own: the
/// library's send and read loops and the continuations of its signals (connections made here queue them to the
/// network, not to the thread pool), the network's deliveries, listeners, handlers, code started with
/// <see cref="Spawn(Func{Task})"/> and whatever they await, and every action of <see cref="Scheduler"/> (timeouts,
/// timers). Work waits in a run queue and runs one item at a time, in order; the queue being empty is what "the
/// application is idle" means, and only then, in a fixed order, does the network look at what was sent, cut it into
/// segments and draw their arrival times from each direction's own random stream (derived from the seed, the
/// connection number and the direction), and only then does virtual time move to the next due action. Segments are
/// delivered one per action, so how a receiver's chunks are cut is decided by the seed. Nothing depends on how fast a
/// thread runs or on what else runs in the process.
/// </para>
/// <para>
/// <b>Driving it.</b> <see cref="RunFor"/>, <see cref="RunUntil(TimeSpan)"/> and <see cref="RunUntil(Func{bool}, TimeSpan)"/>
/// hand the run to the network's thread and return when it is idle at the target time (or the condition holds); they
/// may be called from any thread, one at a time. <see cref="Scheduler"/>'s own <c>AdvanceBy</c>, <c>AdvanceTo</c> and
/// <c>Start</c> work too (each action is handed to the network's thread). Between runs, test code may read results and
/// use connections and the network (a write queues work that runs at the next run); while a run is going on, only
/// simulated code may touch them.
/// </para>
/// <para>
/// <b>Determinism: the limits.</b> (1) Simulated code must stay on the network's thread: awaiting is fine, but
/// <c>Task.Run</c>, real-time timers (<see cref="Task.Delay(TimeSpan)"/>, <see cref="Timer"/>, Rx operators on
/// <c>DefaultScheduler</c>), <c>await Task.Yield()</c> and tasks completed by other threads resume elsewhere, at a
/// moment the seed does not decide; give timers <see cref="Scheduler"/> (connections made here get it in their
/// <see cref="ConnectionOptions.Scheduler"/>) and wait with <see cref="Delay"/>. When such code touches the network
/// during a run, <see cref="Errors"/> gets an <see cref="InvalidOperationException"/> saying so. (2) Simulated code
/// must not block the thread (<c>.Wait()</c>, <c>.Result</c> on something not yet done, <c>Thread.Sleep</c>): nothing
/// else can run meanwhile, so the run fails with a <see cref="TimeoutException"/> once the thread made no progress for
/// <see cref="SimulationOptions.SettleTimeout"/> of real time. (3) The application's own random choices must come from
/// the seed too: <see cref="CreateRandom"/> (a <see cref="ReconnectPolicy.Random"/>, a backoff's jitter), not
/// <see cref="Random.Shared"/>. (4) A network is not for use from several threads at once.
/// </para>
/// <para>
/// <b>Record.</b> <see cref="Trace"/> lists, with virtual times, every SYN, accept, refusal, segment delivered (with its
/// bytes), FIN, reset and fault; compare it between two runs of a seed, or print it when an invariant fails.
/// </para>
/// </remarks>
/// <example>
/// A client and a server through a partition; the same seed gives the same trace, line for line:
/// <code>
/// static IReadOnlyList&lt;string&gt; Run(int seed)
/// {
///     using var network = new SimulatedNetwork(seed);
///     network.Host("server").Listen(7, async (reader, writer) =&gt;
///     {
///         await foreach (var line in reader.ReadLinesAsync())
///         {
///             writer.Write(line.Span);
///             await writer.DrainAsync();
///         }
///     });
///     network.At(TimeSpan.FromMilliseconds(5), () =&gt; network.Partition("client", "server"));
///     network.At(TimeSpan.FromSeconds(2), () =&gt; network.Heal("client", "server"));
///     var client = network.Spawn(async () =&gt;
///     {
///         await using var connection = await network.Host("client").ConnectAsync("server", 7);
///         for (int i = 0; i &lt; 3; i++)
///         {
///             connection.Writer.WriteLine($"ping {i}");
///             await connection.Reader.ReadLineAsync();
///             await network.Delay(TimeSpan.FromMilliseconds(10));
///         }
///     });
///     if (!network.RunUntil(() =&gt; client.IsCompleted, deadline: TimeSpan.FromSeconds(30)))
///     {
///         throw new TimeoutException($"seed {seed} hangs:\n{string.Join("\n", network.Trace)}");
///     }
///
///     return network.Trace;
/// }
///
/// Debug.Assert(Run(42).SequenceEqual(Run(42)));
/// </code>
/// </example>
public sealed partial class SimulatedNetwork : IDisposable
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
    private readonly SimulationThread _thread;
    private long _requestSequence;
    private int _nextConnectionId;
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
        _thread = new SimulationThread(ReportError, KickIfIdle);
        _scheduler = new SimulationScheduler(_thread, Settle, () => Options.SettleTimeout);
    }

    /// <summary>The seed every random choice of the network comes from.</summary>
    public int Seed { get; }

    /// <summary>The settings given at creation.</summary>
    public SimulationOptions Options { get; }

    /// <summary>
    /// The virtual clock: a <see cref="TestScheduler"/> whose every action runs on the network's thread, only when the
    /// system is idle (see the remarks). Give it to timers and timeouts (<c>Observable.Timer(t, network.Scheduler)</c>,
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

    /// <summary>
    /// Exceptions thrown by listeners' callbacks and handlers (each also aborted its connection) or by queued work, and
    /// an <see cref="InvalidOperationException"/> if simulated code ran on another thread during a run (then runs of the
    /// seed may differ; see the remarks). Each also has a line in <see cref="Trace"/>.
    /// </summary>
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

    internal SimulationThread Thread => _thread;

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

        try
        {
            _thread.Invoke(AbortEverything, Options.SettleTimeout);
        }
        catch (TimeoutException)
        {
            // The thread is blocked for good (already reported to the run that found it): nothing more can run there.
        }
        finally
        {
            _thread.Stop();
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

    internal void Record(string text)
    {
        lock (_gate)
        {
            RecordLocked(text);
        }
    }

    internal void ReportError(Exception error) => ReportError(error, $"handler failed: {error.GetType().Name}");

    internal void ReportError(Exception error, string traceLine)
    {
        lock (_gate)
        {
            _errors.Add(error);
            RecordLocked(traceLine);
        }
    }

    private static (string, string) Pair(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);

    private static IOException Wrap(SocketError error) =>
        new(new SocketException((int)error).Message, new SocketException((int)error));

    private void RecordLocked(string text)
    {
        long ticks = _scheduler.Clock;
        _trace.Add(string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerSecond}.{ticks % TimeSpan.TicksPerSecond:D7} {text}"));
    }

    /// <summary>On the simulation's thread: every connection aborted, every pending connect failed, and what that sets off run.</summary>
    private void AbortEverything()
    {
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

        ConnectRequest[] requests;
        lock (_gate)
        {
            requests = _requests.ToArray();
            _requests.Clear();
        }

        foreach (var request in requests)
        {
            request.Completion.TrySetException(new ObjectDisposedException(nameof(SimulatedNetwork)));
        }

        _thread.RunQueued();
    }

    private List<SimulatedConnection> LiveConnections()
    {
        lock (_gate)
        {
            _connections.RemoveAll(static c => c.IsDone);
            return _connections.ToList();
        }
    }
}
