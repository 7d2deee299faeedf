namespace RxStreams.Internal;

/// <summary>
/// The writes made while one received chunk is dispatched: they leave in one send per writer when the dispatch ends,
/// and the dispatching reader does not read again while any of those writers is above its high-water mark.
/// </summary>
/// <remarks>
/// <para>
/// This is how backpressure crosses a synchronous Rx chain without any operator knowing about it: the reader's loop
/// opens a batch on its thread, <c>reader.Lines().Select(f).Subscribe(writer)</c> runs synchronously inside
/// <c>OnNext</c>, and every <see cref="ConnectionWriter"/> written to enlists itself in the thread's current batch.
/// When <c>OnNext</c> returns, the loop flushes each enlisted writer (one gathered send instead of one send per frame)
/// and awaits the ones that are over their high-water mark. Writes made on other threads (after <c>ObserveOn</c>, in
/// a <c>Task</c>) see no batch: they are flushed from the thread pool and are bounded only by the writer's own limits.
/// </para>
/// <para>Cost on the fast path: one thread-static read per write and a short array scan per enlisted writer.</para>
/// <para>
/// Writers are not the only consumers that can hold the loop: any consumer in the synchronous chain that cannot keep up
/// (an async consumer whose callback is still running, a bounded bridge whose queue is full) raises a
/// <see cref="ReadHold"/> in the current batch, and the loop waits for it as it waits for a paused writer.
/// </para>
/// </remarks>
internal sealed class WriteBatch
{
    [ThreadStatic]
    private static WriteBatch? t_current;

    [ThreadStatic]
    private static WriteBatch? t_spare; // one reusable batch per thread: a dispatch allocates nothing

    private WriteBatch? _outer;
    private ConnectionWriter?[] _writers = new ConnectionWriter?[2];
    private int _count;
    private int _pausedCount;
    private ReadHold?[] _holds = []; // raised during the dispatch; after Exit, the ones still raised
    private int _holdCount;

    /// <summary>The batch open on this thread, if any.</summary>
    public static WriteBatch? Current => t_current;

    /// <summary>Whether a writer written in the last dispatch is above its high-water mark, or a read hold raised in it is still up.</summary>
    public bool HasPausedWriters => _pausedCount > 0 || _holdCount > 0;

    /// <summary>Opens a batch on this thread (nested batches are allowed: the inner one is a separate object).</summary>
    public static WriteBatch Enter()
    {
        var batch = t_spare ?? new WriteBatch();
        t_spare = null;
        batch._outer = t_current;
        t_current = batch;
        return batch;
    }

    public void Enlist(ConnectionWriter writer)
    {
        for (int i = 0; i < _count; i++)
        {
            if (ReferenceEquals(_writers[i], writer))
            {
                return;
            }
        }

        if (_count == _writers.Length)
        {
            Array.Resize(ref _writers, _count * 2);
        }

        _writers[_count++] = writer;
    }

    /// <summary>
    /// Closes the batch and flushes every enlisted writer. Keeps the paused ones for
    /// <see cref="WaitForPausedWritersAsync"/>; with none, the batch goes back to the thread for the next dispatch.
    /// </summary>
    public void Exit()
    {
        t_current = _outer;
        _outer = null;
        int paused = 0;
        for (int i = 0; i < _count; i++)
        {
            var writer = _writers[i]!;
            _writers[i] = null;
            writer.FlushFromBatch();
            if (writer.IsPaused)
            {
                _writers[paused++] = writer;
            }
        }

        _count = 0;
        _pausedCount = paused;
        KeepRaisedHolds();
        if (paused == 0 && _holdCount == 0)
        {
            t_spare = this;
        }
    }

    /// <summary>Waits until every writer that was paused at the end of the dispatch drops to its low-water mark (or dies).</summary>
    public async ValueTask WaitForPausedWritersAsync()
    {
        for (int i = 0; i < _pausedCount; i++)
        {
            await _writers[i]!.WaitUntilResumedAsync(CancellationToken.None).ConfigureAwait(false);
            _writers[i] = null;
        }

        _pausedCount = 0;
        for (int i = 0; i < _holdCount; i++)
        {
            await _holds[i]!.WaitReleasedAsync().ConfigureAwait(false);
            _holds[i] = null;
        }

        _holdCount = 0;
        t_spare ??= this;
    }

    // --- Read holds: consumers other than writers that hold the read loop (see ReadHold). ---

    /// <summary>Makes the loop that dispatches this batch wait for <paramref name="hold"/> before its next read.</summary>
    public void Enlist(ReadHold hold)
    {
        for (int i = 0; i < _holdCount; i++)
        {
            if (ReferenceEquals(_holds[i], hold))
            {
                return;
            }
        }

        if (_holdCount == _holds.Length)
        {
            Array.Resize(ref _holds, Math.Max(2, _holdCount * 2));
        }

        _holds[_holdCount++] = hold;
    }

    /// <summary>Drops the holds released before the dispatch ended: only those still raised are waited for.</summary>
    private void KeepRaisedHolds()
    {
        int raised = 0;
        for (int i = 0; i < _holdCount; i++)
        {
            var hold = _holds[i]!;
            _holds[i] = null;
            if (hold.IsRaised)
            {
                _holds[raised++] = hold;
            }
        }

        _holdCount = raised;
    }
}
