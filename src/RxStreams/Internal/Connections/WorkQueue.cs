namespace RxStreams.Internal;

/// <summary>Where the work of a connection made inside a simulation runs (see <see cref="WorkQueue"/>).</summary>
internal interface IWorkQueue
{
    /// <summary>Runs <paramref name="work"/> later, in order, on the queue's own thread; safe to call from any thread.</summary>
    void Post(IThreadPoolWorkItem work);
}

/// <summary>
/// The one seam between the library and RxStreams.Testing's <c>SimulatedNetwork</c>: where a connection's background
/// work (a send loop, a push read loop) is queued and where the continuations of its signals (a writer resumed, a
/// pipe with data or room, a hold released, a connection closed) resume. Normally the thread pool; a simulation pumps
/// every continuation of the simulated system on one thread of its own, so that "its run queue is empty" means "the
/// application is idle" and virtual time may move.
/// </summary>
/// <remarks>
/// A simulation sets <see cref="Ambient"/> on its thread while it pumps; objects created then (a connection's writer,
/// reader and pipes; a signal) keep that queue for life, so work they start from any thread lands on it. A signal made
/// for a queue runs its continuations without <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/> (which
/// would send <c>ConfigureAwait(false)</c> continuations to the thread pool) and is completed by a posted item instead,
/// so a continuation never runs inside the code that signalled it, as on the thread pool.
/// </remarks>
internal static class WorkQueue
{
    [ThreadStatic]
    private static IWorkQueue? t_ambient;

    /// <summary>The queue of the simulation pumping on this thread; <see langword="null"/> everywhere else.</summary>
    public static IWorkQueue? Ambient
    {
        get => t_ambient;
        set => t_ambient = value;
    }

    /// <summary>Queues <paramref name="work"/> to <paramref name="queue"/>, or to the thread pool without one.</summary>
    public static void Queue(IWorkQueue? queue, IThreadPoolWorkItem work)
    {
        if (queue is null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: true);
        }
        else
        {
            queue.Post(work);
        }
    }

    /// <summary>A signal whose continuations run asynchronously: on the thread pool, or on <paramref name="queue"/>.</summary>
    public static TaskCompletionSource NewSignal(IWorkQueue? queue) =>
        queue is null ? new(TaskCreationOptions.RunContinuationsAsynchronously) : new(queue, TaskCreationOptions.None);

    /// <summary>A signal for the queue of the simulation pumping on this thread, if any (see <see cref="NewSignal(IWorkQueue?)"/>).</summary>
    public static TaskCompletionSource NewSignal() => NewSignal(t_ambient);

    /// <summary>Completes <paramref name="signal"/> (made by <see cref="NewSignal(IWorkQueue?)"/>); nothing if it is null.</summary>
    public static void Set(TaskCompletionSource? signal)
    {
        if (signal?.Task.AsyncState is IWorkQueue queue)
        {
            queue.Post(new SetSignal(signal));
        }
        else
        {
            signal?.TrySetResult();
        }
    }

    private sealed class SetSignal(TaskCompletionSource signal) : IThreadPoolWorkItem
    {
        public void Execute() => signal.TrySetResult();
    }
}
