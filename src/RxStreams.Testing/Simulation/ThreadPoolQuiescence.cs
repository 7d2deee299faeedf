using System.Diagnostics;

namespace RxStreams.Testing.Simulation;

/// <summary>
/// Waits until the process's thread pool has nothing queued and no more workers running than it had at rest: the moment
/// when every continuation a simulation step set off (read loops, flushes, handlers resuming after an await) has run to
/// its next wait.
/// </summary>
/// <remarks>
/// <para>
/// The library queues its read loops, flushes and continuations to the thread pool itself, so a custom
/// <see cref="SynchronizationContext"/> or <see cref="TaskScheduler"/> cannot capture them; the pool's own counters can
/// tell when they are all done.
/// </para>
/// <para>
/// <b>The baseline.</b> A host process may keep pool threads blocked for good (a test runner reading its pipe in a
/// synchronous call): those count as busy forever. The baseline is the lowest busy count seen, measured when the network
/// is created and lowered whenever fewer workers are seen busy; the pool is idle when nothing is queued, no more than
/// the baseline is busy, and no work item completed between two such observations. Work on threads of its own (a
/// <see cref="Thread"/>, a real-time <see cref="Timer"/>, socket I/O) is outside what this sees.
/// </para>
/// </remarks>
internal sealed class ThreadPoolQuiescence
{
    private int _baseline;

    public ThreadPoolQuiescence()
    {
        _baseline = int.MaxValue;
        for (int i = 0; i < 64; i++)
        {
            _baseline = Math.Min(_baseline, Busy() - Own());
            Thread.Yield();
        }

        _baseline = Math.Max(0, _baseline);
    }

    /// <summary>Blocks until the pool is idle.</summary>
    /// <exception cref="TimeoutException">The pool stayed busy for <paramref name="timeout"/> of real time (something blocks a pool thread).</exception>
    public void WaitUntilIdle(TimeSpan timeout)
    {
        int own = Own(); // a driver on a pool thread counts itself
        long started = Stopwatch.GetTimestamp();
        var spinner = new SpinWait();
        long lastCompleted = -1;
        while (true)
        {
            int busy = Busy() - own;
            if (busy < _baseline)
            {
                _baseline = busy; // a thread that was blocked for good is not any more
            }

            if (busy <= _baseline && ThreadPool.PendingWorkItemCount == 0)
            {
                long completed = ThreadPool.CompletedWorkItemCount;
                if (completed == lastCompleted)
                {
                    return;
                }

                lastCompleted = completed;
                Thread.Yield();
                continue;
            }

            lastCompleted = -1;
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException(
                    $"The simulation did not settle within {timeout} of real time: a thread pool thread stays busy. Application code " +
                    "must not block (.Wait(), .Result, Thread.Sleep) or wait for real time (Task.Delay); use the network's scheduler.");
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    private static int Own() => Thread.CurrentThread.IsThreadPoolThread ? 1 : 0;

    private static int Busy()
    {
        ThreadPool.GetMaxThreads(out int max, out _);
        ThreadPool.GetAvailableThreads(out int available, out _);
        return max - available;
    }
}
