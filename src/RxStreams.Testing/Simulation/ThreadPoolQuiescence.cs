using System.Diagnostics;

namespace RxStreams.Testing.Simulation;

/// <summary>
/// Waits until the process's thread pool has nothing queued and no worker running: the moment when every continuation a
/// simulation step set off (read loops, flushes, handlers resuming after an await) has run to its next wait.
/// </summary>
/// <remarks>
/// The library queues its read loops, flushes and continuations to the thread pool itself, so a custom
/// <see cref="SynchronizationContext"/> or <see cref="TaskScheduler"/> cannot capture them; the pool's own counters can
/// tell when they are all done. Work on threads of its own (a <see cref="Thread"/>, a real-time <see cref="Timer"/>,
/// socket I/O) is outside what this sees.
/// </remarks>
internal static class ThreadPoolQuiescence
{
    /// <summary>Blocks until the pool is idle (two observations in a row, with no work item completed between them).</summary>
    /// <exception cref="TimeoutException">The pool stayed busy for <paramref name="timeout"/> of real time (something blocks a pool thread).</exception>
    public static void WaitUntilIdle(TimeSpan timeout)
    {
        int own = Thread.CurrentThread.IsThreadPoolThread ? 1 : 0; // a driver on a pool thread counts itself
        long started = Stopwatch.GetTimestamp();
        var spinner = new SpinWait();
        long lastCompleted = -1;
        while (true)
        {
            if (IsIdle(own))
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

    private static bool IsIdle(int own)
    {
        ThreadPool.GetMaxThreads(out int max, out _);
        ThreadPool.GetAvailableThreads(out int available, out _);
        return max - available <= own && ThreadPool.PendingWorkItemCount == 0;
    }
}
