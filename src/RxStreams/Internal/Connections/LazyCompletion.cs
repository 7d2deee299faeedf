using System.Runtime.CompilerServices;

namespace RxStreams.Internal;

/// <summary>
/// A completion signal whose <see cref="Task"/> exists only if someone asks for it: most connections and
/// subscriptions end without anyone waiting, and an idle connection should not carry a task it may never need.
/// </summary>
/// <remarks>A mutable struct: keep it in a non-readonly field and call it in place.</remarks>
internal struct LazyCompletion
{
    private TaskCompletionSource? _source;
    private int _completed;

    public readonly bool IsCompleted => Volatile.Read(ref Unsafe.AsRef(in _completed)) != 0;

    /// <summary>A task that completes (never faults) once <see cref="Complete"/> has been called.</summary>
    public Task Task
    {
        get
        {
            if (IsCompleted)
            {
                return Task.CompletedTask;
            }

            var source = Volatile.Read(ref _source);
            if (source is null)
            {
                var created = WorkQueue.NewSignal();
                source = Interlocked.CompareExchange(ref _source, created, null) ?? created;
            }

            if (IsCompleted)
            {
                WorkQueue.Set(source); // completed while the source was being created
            }

            return source.Task;
        }
    }

    /// <summary>Completes the signal; returns false if it already was.</summary>
    public bool Complete()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        WorkQueue.Set(Volatile.Read(ref _source));
        return true;
    }
}
