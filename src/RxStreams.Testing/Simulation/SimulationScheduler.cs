using Microsoft.Reactive.Testing;

namespace RxStreams.Testing.Simulation;

/// <summary>
/// The network's <see cref="TestScheduler"/>: every scheduled action, whoever scheduled it (the network, a connection's
/// timeout, an application timer), runs on the simulation's thread, between two settles (the run queue drained, the
/// network's sends and connects handled), so the next action starts from a state that only the seed decided.
/// </summary>
/// <remarks>
/// Driven from the simulation's thread (<see cref="SimulatedNetwork.RunUntil(TimeSpan)"/> and its siblings), actions run
/// inline; driven from another thread (a test calling <c>AdvanceBy</c> itself), each action is handed to the
/// simulation's thread and waited for.
/// </remarks>
internal sealed class SimulationScheduler(SimulationThread thread, Action settle, Func<TimeSpan> stallTimeout) : TestScheduler
{
    public override IDisposable ScheduleAbsolute<TState>(TState state, long dueTime, Func<System.Reactive.Concurrency.IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        thread.CheckThread("a timer scheduled");
        return base.ScheduleAbsolute((Action: action, State: state), dueTime, (scheduler, s) =>
        {
            IDisposable result = System.Reactive.Disposables.Disposable.Empty;
            thread.Invoke(
                () =>
                {
                    thread.Progress();
                    settle();
                    result = s.Action(scheduler, s.State);
                    settle();
                },
                stallTimeout());
            return result;
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
