using System.Reactive.Disposables;
using RxStreams.Testing.Simulation;

namespace RxStreams.Testing;

// Virtual time: the timeline (At, Spawn, Delay), RunFor/RunUntil, and the step that settles the thread pool before each action; the type's docs are in SimulatedNetwork.cs.
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
}
