using Microsoft.Reactive.Testing;

namespace RxStreams.Testing.Simulation;

/// <summary>
/// The network's <see cref="TestScheduler"/>: every scheduled action, whoever scheduled it (the network, a connection's
/// timeout, an application timer), runs only once the system is quiescent and is followed by a settle, so the next action
/// starts from a state that does not depend on how fast the thread pool ran the previous one.
/// </summary>
internal sealed class SimulationScheduler(Action<bool> settle) : TestScheduler
{
    public override IDisposable ScheduleAbsolute<TState>(TState state, long dueTime, Func<System.Reactive.Concurrency.IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return base.ScheduleAbsolute((Action: action, State: state), dueTime, (scheduler, s) =>
        {
            var context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null); // continuations go to the pool, never to a test's context
            try
            {
                settle(true);
                var result = s.Action(scheduler, s.State);
                settle(false); // leaves the stepping state: work started outside a step must schedule one
                return result;
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(context);
            }
        });
    }

    /// <summary>The due time of the next action, if any (the base keeps its queue protected).</summary>
    public bool TryPeekNext(out long dueTime)
    {
        var next = GetNext();
        dueTime = next?.DueTime ?? 0;
        return next is not null;
    }
}
