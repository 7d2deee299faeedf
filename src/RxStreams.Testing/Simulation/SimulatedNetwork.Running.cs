using System.Reactive.Disposables;
using RxStreams.Testing.Simulation;

namespace RxStreams.Testing;

// Virtual time: the timeline (At, Spawn, Delay), RunFor/RunUntil, and the settle (run queue drained, sends and connects handled) around each action; the type's docs are in SimulatedNetwork.cs.
public sealed partial class SimulatedNetwork
{
    /// <summary>Runs <paramref name="action"/> at virtual time <paramref name="time"/> (a fault on a timeline: <c>network.At(TimeSpan.FromSeconds(3), () =&gt; network.Partition("app", "db"))</c>).</summary>
    /// <param name="time">When, from the start of the simulation.</param>
    /// <param name="action">What to do.</param>
    public void At(TimeSpan time, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ScheduleAt(time.Ticks, action);
    }

    /// <summary>
    /// Runs <paramref name="work"/> (a client, a test's script) inside the simulation, on its thread, at the current
    /// virtual time (once the network runs: <see cref="RunFor"/>, <see cref="RunUntil(TimeSpan)"/>...). Everything it
    /// awaits resumes on the simulation's thread too.
    /// </summary>
    /// <param name="work">The code to run.</param>
    /// <returns>Its task; it completes on the simulation's thread (check it between runs, or await it from simulated code).</returns>
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
        var started = new TaskCompletionSource<Task<T>>();
        ScheduleAt(Clock, () =>
        {
            try
            {
                started.SetResult(work());
            }
#pragma warning disable CA1031 // handed to the caller through the task
            catch (Exception error)
#pragma warning restore CA1031
            {
                started.SetResult(Task.FromException<T>(error));
            }
        });
        return _thread.Defer(started.Task.Unwrap());
    }

    /// <summary>
    /// Completes after <paramref name="delay"/> of virtual time (a client's backoff, a think time): the simulation's
    /// <c>Task.Delay</c>. What awaits it resumes on the simulation's thread.
    /// </summary>
    /// <param name="delay">How long, in virtual time.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes at <see cref="Now"/> + <paramref name="delay"/>.</returns>
    public Task Delay(TimeSpan delay, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource();
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

        return _thread.Defer(done.Task);
    }

    /// <summary>
    /// Advances virtual time by <paramref name="duration"/> on the simulation's thread, running everything due meanwhile;
    /// returns once the system is idle at the new time.
    /// </summary>
    /// <param name="duration">How much virtual time to run.</param>
    /// <exception cref="TimeoutException">The simulation's thread made no progress for <see cref="SimulationOptions.SettleTimeout"/> of real time (simulated code blocks it).</exception>
    public void RunFor(TimeSpan duration) => RunUntil(Now + duration);

    /// <summary>
    /// Advances virtual time to <paramref name="time"/> on the simulation's thread, running everything due until then;
    /// returns once the system is idle at that time.
    /// </summary>
    /// <param name="time">The virtual time to reach; nothing but the work already queued runs if it is past.</param>
    /// <exception cref="TimeoutException">The simulation's thread made no progress for <see cref="SimulationOptions.SettleTimeout"/> of real time (simulated code blocks it).</exception>
    public void RunUntil(TimeSpan time) => _thread.Invoke(
        () =>
        {
            Settle();
            if (time.Ticks > Clock)
            {
                _scheduler.AdvanceTo(time.Ticks);
            }
        },
        Options.SettleTimeout);

    /// <summary>
    /// Runs until <paramref name="condition"/> holds or virtual time reaches <paramref name="deadline"/>. The condition is
    /// checked on the simulation's thread when the system is idle (between two scheduler actions), so the answer, and
    /// the virtual time at which it comes, are the seed's.
    /// </summary>
    /// <param name="condition">What to wait for (a spawned client's <c>IsCompleted</c>).</param>
    /// <param name="deadline">The virtual time not to pass.</param>
    /// <returns>Whether <paramref name="condition"/> holds; false means the deadline passed first (a hang, in virtual time).</returns>
    /// <exception cref="TimeoutException">The simulation's thread made no progress for <see cref="SimulationOptions.SettleTimeout"/> of real time (simulated code blocks it).</exception>
    public bool RunUntil(Func<bool> condition, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(condition);
        bool holds = false;
        _thread.Invoke(() => holds = RunUntilOnThread(condition, deadline), Options.SettleTimeout);
        return holds;
    }

    internal void MarkDirty(LinkDirection direction)
    {
        _thread.CheckThread("a send");
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

    private bool RunUntilOnThread(Func<bool> condition, TimeSpan deadline)
    {
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

    /// <summary>
    /// On the simulation's thread: runs the queue until it is empty (the application is idle), then handles connects and
    /// sends in a fixed order, until nothing is left.
    /// </summary>
    private void Settle()
    {
        while (true)
        {
            _thread.RunQueued();
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

    /// <summary>Something changed outside a run (test code between runs): make sure a step comes to handle it.</summary>
    private void KickIfIdle()
    {
        if (_thread.IsCurrent || Interlocked.Exchange(ref _kickScheduled, 1) != 0)
        {
            return;
        }

        ScheduleAt(Clock, () => Volatile.Write(ref _kickScheduled, 0));
    }
}
