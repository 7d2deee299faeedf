using System.Runtime.ExceptionServices;
using RxStreams.Internal;

namespace RxStreams.Testing.Simulation;

/// <summary>
/// The one thread a <see cref="SimulatedNetwork"/> runs on, and its run queue: every continuation of the simulated
/// system (the library's send and read loops and signals, the network's deliveries, the application's handlers and
/// clients) runs here, one at a time, in the order it was queued. The queue being empty is what "the application is
/// idle" means; nothing looks at the thread pool.
/// </summary>
/// <remarks>
/// <para>
/// The thread has no <see cref="SynchronizationContext"/> and the default <see cref="TaskScheduler"/>, so a
/// continuation (with or without <c>ConfigureAwait(false)</c>) of a task completed here runs inline here. The library
/// posts its own background work and signal completions to <see cref="WorkQueue.Ambient"/>, which is this queue on
/// this thread (connections made here keep it for life, so what test code does to them between runs lands here too).
/// </para>
/// <para>
/// Callers on other threads hand over a job (<see cref="Invoke"/>) and wait for it; a job that makes no progress for
/// the settle timeout (something blocks the thread: a <c>.Wait()</c>, a <c>.Result</c>, a real-time sleep) fails the
/// caller with a <see cref="TimeoutException"/> instead of hanging it. The thread ends when the network is disposed, or
/// after a short idle time (it is started again for the next job), so a network that is never disposed leaks nothing.
/// </para>
/// </remarks>
internal sealed class SimulationThread : IWorkQueue
{
    private static readonly TimeSpan IdleExit = TimeSpan.FromMilliseconds(200);

    [ThreadStatic]
    private static SimulationThread? t_current;

    private readonly Lock _queueGate = new();
    private readonly Queue<IThreadPoolWorkItem> _queue = new();
    private readonly object _jobGate = new(); // Monitor: the handover of a job and its end
    private readonly Lock _callerGate = new(); // one caller at a time
    private readonly Action<Exception, string> _reportError;
    private readonly Action _kick;
    private Action? _job;
    private bool _jobDone;
    private ExceptionDispatchInfo? _jobFailure;
    private Thread? _thread;
    private bool _stopping;
    private volatile bool _stuck;
    private volatile bool _running;
    private long _progress;
    private int _escapes;

    /// <param name="reportError">Where failures of queued work and code running on other threads are reported (the error, and a line for the trace).</param>
    /// <param name="kick">Makes sure a step comes to run work queued from outside a run (schedules one).</param>
    public SimulationThread(Action<Exception, string> reportError, Action kick)
    {
        _reportError = reportError;
        _kick = kick;
    }

    /// <summary>Whether the caller is this simulation's thread.</summary>
    public bool IsCurrent => t_current == this;

    /// <inheritdoc/>
    public void Post(IThreadPoolWorkItem work)
    {
        lock (_queueGate)
        {
            _queue.Enqueue(work);
        }

        if (!IsCurrent)
        {
            if (!CheckThread("queued work"))
            {
                return;
            }

            _kick(); // test code between runs: the next step runs it
        }
    }

    /// <summary>Queues <paramref name="action"/> (a completion: never inline in the code that triggers it).</summary>
    public void Post(Action action) => Post(new ActionItem(action));

    /// <summary>
    /// A task that completes as <paramref name="source"/> does, but from a queued item: whoever completes
    /// <paramref name="source"/> (the network, in the middle of a delivery) never runs the awaiting code inline.
    /// </summary>
    public Task<T> Defer<T>(Task<T> source)
    {
        var result = new TaskCompletionSource<T>();
        source.ContinueWith(
            (completed, state) => Post(() => ((TaskCompletionSource<T>)state!).TrySetFromTask(completed)),
            result,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return result.Task;
    }

    /// <inheritdoc cref="Defer{T}(Task{T})"/>
    public Task Defer(Task source)
    {
        var result = new TaskCompletionSource();
        source.ContinueWith(
            (completed, state) => Post(() => ((TaskCompletionSource)state!).TrySetFromTask(completed)),
            result,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return result.Task;
    }

    /// <summary>
    /// Whether the caller may touch the simulation: on its thread, or on another while no job runs (test code between
    /// runs). Code of the simulated system that escaped to another thread (a real-time timer, a thread-pool continuation)
    /// while a job runs is reported once: its timing is not the seed's, so the run is not deterministic.
    /// </summary>
    public bool CheckThread(string what)
    {
        if (IsCurrent || !_running)
        {
            return true;
        }

        if (Interlocked.Increment(ref _escapes) == 1)
        {
            _reportError(new InvalidOperationException(
                $"Simulated code ({what}) ran on thread {Environment.CurrentManagedThreadId}, not on the simulation's thread: something " +
                "left the simulation (Task.Run, a real-time timer or Task.Delay, ConfigureAwait(false) after a task completed elsewhere, " +
                "a TaskCompletionSource with RunContinuationsAsynchronously). Runs of this seed may differ."),
                $"simulated code left the simulation's thread ({what})");
        }

        return false;
    }

    /// <summary>Runs everything queued, including what it queues, until the queue is empty: the application is idle.</summary>
    /// <returns>Whether anything ran.</returns>
    public bool RunQueued()
    {
        bool ran = false;
        while (true)
        {
            IThreadPoolWorkItem? work;
            lock (_queueGate)
            {
                if (!_queue.TryDequeue(out work))
                {
                    return ran;
                }
            }

            ran = true;
            Interlocked.Increment(ref _progress);
            try
            {
                work.Execute();
            }
#pragma warning disable CA1031 // the thread pool would crash the process; the simulation reports it instead
            catch (Exception error)
#pragma warning restore CA1031
            {
                _reportError(error, $"queued work failed: {error.GetType().Name}");
            }
        }
    }

    /// <summary>Counts a step (a scheduler action), so a long run is not mistaken for a blocked thread.</summary>
    public void Progress() => Interlocked.Increment(ref _progress);

    /// <summary>Runs <paramref name="job"/> on the simulation's thread and waits for it (inline when called from there).</summary>
    /// <param name="job">What to run.</param>
    /// <param name="stallTimeout">Real time without any progress after which the thread counts as blocked.</param>
    /// <exception cref="TimeoutException">The thread made no progress for <paramref name="stallTimeout"/>.</exception>
    /// <exception cref="Exception">Whatever <paramref name="job"/> threw.</exception>
    public void Invoke(Action job, TimeSpan stallTimeout)
    {
        if (IsCurrent)
        {
            job();
            return;
        }

        lock (_callerGate)
        {
            if (_stuck)
            {
                throw Blocked(stallTimeout);
            }

            ExceptionDispatchInfo? failure;
            lock (_jobGate)
            {
                ObjectDisposedException.ThrowIf(_stopping, typeof(SimulatedNetwork));
                _job = job;
                _jobDone = false;
                _jobFailure = null;
                if (_thread is null)
                {
                    _thread = new Thread(Loop) { IsBackground = true, Name = "RxStreams simulation" };
                    _thread.Start();
                }
                else
                {
                    Monitor.PulseAll(_jobGate);
                }

                long seen = Interlocked.Read(ref _progress);
                while (!_jobDone)
                {
                    if (!Monitor.Wait(_jobGate, stallTimeout) && !_jobDone)
                    {
                        long now = Interlocked.Read(ref _progress);
                        if (now == seen)
                        {
                            _stuck = true;
                            throw Blocked(stallTimeout);
                        }

                        seen = now;
                    }
                }

                failure = _jobFailure;
                _jobFailure = null;
            }

            failure?.Throw();
        }
    }

    /// <summary>Lets the thread end; a job still running finishes first.</summary>
    public void Stop()
    {
        lock (_jobGate)
        {
            _stopping = true;
            Monitor.PulseAll(_jobGate);
        }
    }

    private static TimeoutException Blocked(TimeSpan timeout) => new(
        $"The simulation made no progress for {timeout} of real time: its thread is blocked. Simulated code must not block " +
        "(.Wait(), .Result, Thread.Sleep, a lock held elsewhere) or wait for real time; await, and use the network's scheduler.");

    private void Loop()
    {
        t_current = this;
        WorkQueue.Ambient = this;
        while (true)
        {
            Action job;
            lock (_jobGate)
            {
                while (_job is null)
                {
                    if (_stopping || !Monitor.Wait(_jobGate, IdleExit))
                    {
                        if (_job is not null)
                        {
                            break;
                        }

                        _thread = null; // the next job starts a new thread
                        return;
                    }
                }

                job = _job;
                _job = null;
            }

            ExceptionDispatchInfo? failure = null;
            _running = true;
            try
            {
                job();
            }
#pragma warning disable CA1031 // handed to the caller
            catch (Exception error)
#pragma warning restore CA1031
            {
                failure = ExceptionDispatchInfo.Capture(error);
            }
            finally
            {
                _running = false;
            }

            lock (_jobGate)
            {
                _jobFailure = failure;
                _jobDone = true;
                Monitor.PulseAll(_jobGate);
            }
        }
    }

    private sealed class ActionItem(Action action) : IThreadPoolWorkItem
    {
        public void Execute() => action();
    }
}
