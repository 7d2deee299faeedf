using System.Reactive.Concurrency;
using System.Threading.Channels;
using Microsoft.Reactive.Testing;

namespace RxStreams.Tests.Reconnect;

/// <summary>
/// A <see cref="TestScheduler"/> that real I/O may schedule on from other threads: every call runs under one lock,
/// and each delay asked for is reported, so a test waits for "the code under test scheduled its next step" instead
/// of sleeping, then moves virtual time on.
/// </summary>
internal sealed class GatedVirtualScheduler : IScheduler
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly TestScheduler _inner = new();
    private readonly object _gate = new();
    private readonly Channel<TimeSpan> _requested = Channel.CreateUnbounded<TimeSpan>();

    public DateTimeOffset Now
    {
        get
        {
            lock (_gate)
            {
                return _inner.Now;
            }
        }
    }

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) => Schedule(state, TimeSpan.Zero, action);

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) => Schedule(state, dueTime - Now, action);

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        IDisposable scheduled;
        lock (_gate)
        {
            scheduled = _inner.Schedule(state, dueTime, (_, s) => action(this, s));
        }

        _requested.Writer.TryWrite(dueTime);
        return new Locked(scheduled, _gate);
    }

    /// <summary>The next delay the code under test asked for (bounded wait).</summary>
    public async Task<TimeSpan> NextDelayAsync() => await _requested.Reader.ReadAsync().AsTask().WaitAsync(Patience);

    /// <summary>Moves virtual time on, running what falls due (on this thread, under the lock).</summary>
    public void AdvanceBy(TimeSpan time)
    {
        lock (_gate)
        {
            _inner.AdvanceBy(time.Ticks);
        }
    }

    private sealed class Locked(IDisposable inner, object gate) : IDisposable
    {
        public void Dispose()
        {
            lock (gate)
            {
                inner.Dispose();
            }
        }
    }
}
