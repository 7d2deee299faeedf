using RxStreams.Internal;

namespace RxStreams;

// Flow control: the water marks, pausing and resuming, DrainAsync and its waits; the type's docs are in ConnectionWriter.cs.
public sealed partial class ConnectionWriter
{
    /// <summary>
    /// asyncio's <c>set_write_buffer_limits(high, low)</c>: given only <paramref name="high"/>, low is a quarter of it;
    /// given only <paramref name="low"/>, high is four times it; given neither, 64 KiB and 16 KiB.
    /// </summary>
    /// <param name="high">The high-water mark in bytes.</param>
    /// <param name="low">The low-water mark in bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException">Unless high ≥ low ≥ 0.</exception>
    public void SetWriteBufferLimits(int? high = null, int? low = null)
    {
        int newHigh = high ?? (low is { } l ? 4 * l : ConnectionOptions.DefaultHighWaterMark);
        int newLow = low ?? newHigh / 4;
        if (newLow < 0 || newHigh < newLow)
        {
            throw new ArgumentOutOfRangeException(nameof(high), $"high ({newHigh}) must be >= low ({newLow}) must be >= 0");
        }

        TaskCompletionSource? resumed;
        lock (_queue)
        {
            _highWaterMark = newHigh;
            _lowWaterMark = newLow;
            resumed = UpdatePauseState();
        }

        WorkQueue.Set(resumed);
    }

    /// <summary>
    /// asyncio's <c>drain()</c>: sends what is buffered and, when the buffer is above the high-water mark, waits until it
    /// drops to the low-water mark. Returns at once otherwise. Any number of callers may wait at the same time.
    /// </summary>
    /// <param name="cancellationToken">Cancels this wait only.</param>
    /// <returns>A task that completes when writing may go on.</returns>
    /// <exception cref="IOException">The connection was lost, or is closed (asyncio: <c>ConnectionResetError('Connection lost')</c>), or was aborted while waiting.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask DrainAsync(CancellationToken cancellationToken = default)
    {
        if (_core.TerminalError is { } error)
        {
            return ValueTask.FromException(error);
        }

        if (_core.IsClosed)
        {
            return ValueTask.FromException(ThrowHelper.CreateConnectionLost());
        }

        FlushNow();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return IsPaused ? WaitForDrainAsync(cancellationToken) : default;
    }

    /// <summary>Waits until the writer is below its low-water mark or dead; never throws for a dead connection.</summary>
    internal ValueTask WaitUntilResumedAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource? resumed;
        lock (_queue)
        {
            if (!_paused || _failure is not null || _state == OutputState.Closed)
            {
                return default;
            }

            resumed = _resumed ??= WorkQueue.NewSignal(_workQueue);
        }

        return new ValueTask(resumed.Task.WaitAsync(cancellationToken));
    }

    private async ValueTask WaitForDrainAsync(CancellationToken cancellationToken)
    {
        await WaitUntilResumedAsync(cancellationToken).ConfigureAwait(false);
        Exception? failure;
        bool closed;
        lock (_queue)
        {
            failure = _failure;
            closed = _state == OutputState.Closed;
        }

        if (failure is not null)
        {
            throw failure;
        }

        if (closed)
        {
            throw ThrowHelper.CreateConnectionLost(); // closed while we waited: the data may never have left
        }
    }

    private TaskCompletionSource? UpdatePauseState()
    {
        if (!_paused && _buffered > _highWaterMark)
        {
            Volatile.Write(ref _paused, true);
        }
        else if (_paused && _buffered <= _lowWaterMark)
        {
            Volatile.Write(ref _paused, false);
            var resumed = _resumed;
            _resumed = null;
            return resumed;
        }

        return null;
    }
}
