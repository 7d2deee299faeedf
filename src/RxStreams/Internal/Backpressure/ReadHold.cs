namespace RxStreams.Internal;

/// <summary>
/// A consumer's way to stop the reader that feeds it from reading again until the consumer has caught up: the same
/// hold a writer above its high-water mark puts on the read loop, for consumers that are not writers (an async callback
/// still running, a bounded bridge to <see cref="IAsyncEnumerable{T}"/> whose queue is full).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="TryRaise"/> works only inside a reader's dispatch, that is, inside an <c>OnNext</c> that an RxStreams
/// reader's loop called, directly or through synchronous operators (the framing operators, <c>Select</c>,
/// <c>Where</c>...): it enlists the hold in that dispatch's <see cref="WriteBatch"/>, and the loop, once <c>OnNext</c>
/// returned, waits for <see cref="Release"/> before it receives again. Elsewhere (a <c>Subject</c>, <c>Observable.Range</c>,
/// after <c>ObserveOn</c>) there is no loop to hold: it returns <see langword="false"/> and the consumer must buffer.
/// </para>
/// <para>
/// Raising happens on the dispatching thread, releasing on whichever thread the consumer runs; a release that comes
/// before the dispatch ends simply means the loop does not wait. A consumer that stops for good must release its hold;
/// the loop also stops waiting when its subscription is disposed or its connection closes.
/// </para>
/// </remarks>
internal sealed class ReadHold
{
    private readonly Lock _gate = new();
    private TaskCompletionSource? _released; // set while raised

    /// <summary>Whether the hold is raised (the loop that enlisted it is waiting, or about to).</summary>
    public bool IsRaised => Volatile.Read(ref _released) is not null;

    /// <summary>Raises the hold on the reader dispatching on this thread, if there is one.</summary>
    /// <returns><see langword="false"/> outside a reader's dispatch: nothing is held.</returns>
    public bool TryRaise()
    {
        var batch = WriteBatch.Current;
        if (batch is null)
        {
            return false;
        }

        lock (_gate)
        {
            _released ??= WorkQueue.NewSignal();
        }

        batch.Enlist(this);
        return true;
    }

    /// <summary>Lets the held loop read again (nothing happens if the hold is not raised).</summary>
    public void Release()
    {
        TaskCompletionSource? released;
        lock (_gate)
        {
            released = _released;
            _released = null;
        }

        WorkQueue.Set(released);
    }

    /// <summary>Completes when the hold is released; at once if it is not raised.</summary>
    public Task WaitReleasedAsync() => Volatile.Read(ref _released)?.Task ?? Task.CompletedTask;
}
