using System.Runtime.CompilerServices;
using RxStreams.Internal;

namespace RxStreams;

// Write, WriteLines, WriteAllAsync and the errors a write throws; the type's docs are in ConnectionWriter.cs.
public sealed partial class ConnectionWriter
{
    /// <summary>Writes <paramref name="data"/> (copied; the caller may reuse it at once).</summary>
    /// <param name="data">The bytes; an empty span does nothing.</param>
    /// <exception cref="InvalidOperationException">After <see cref="WriteEof"/> or <see cref="Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost (the exception that ended it).</exception>
    /// <exception cref="WriteBufferOverflowException">
    /// The write would take the buffer past <see cref="ConnectionOptions.MaxWriteBufferSize"/>; see
    /// <see cref="ConnectionOptions.WriteBufferOverflow"/> for what happens to the connection.
    /// </exception>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        lock (_queue)
        {
            if (_state != OutputState.Open || _failure is not null)
            {
                ThrowNotWritable();
            }

            if (_buffered + data.Length > _maxBufferSize)
            {
                ThrowOverflow(data.Length);
            }

            _queue.Write(data);
            _buffered += data.Length;
            if (!_paused && _buffered > _highWaterMark)
            {
                Volatile.Write(ref _paused, true);
            }
        }

        RequestFlush();
    }

    /// <inheritdoc cref="Write(ReadOnlySpan{byte})"/>
    public void Write(ReadOnlyMemory<byte> data) => Write(data.Span);

    /// <inheritdoc cref="Write(ReadOnlySpan{byte})"/>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is <see langword="null"/>.</exception>
    public void Write(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Write(data.AsSpan());
    }

    /// <summary>asyncio's <c>writelines()</c>: writes each item in order; they leave together, under the same flow control as <see cref="Write(ReadOnlySpan{byte})"/>.</summary>
    /// <param name="data">The chunks.</param>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">After <see cref="WriteEof"/> or <see cref="Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public void WriteLines(IEnumerable<ReadOnlyMemory<byte>> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var chunk in data)
        {
            Write(chunk.Span);
        }
    }

    /// <summary>
    /// Writes every chunk of <paramref name="source"/>, awaiting <see cref="DrainAsync"/> whenever the buffer is above
    /// the high-water mark: the bounded way to feed a writer from asynchronous code (after <c>ObserveOn</c>, from a
    /// <c>Channel</c>, from another connection's <see cref="ConnectionReader.ReadChunksAsync"/>). Does not close the writer.
    /// </summary>
    /// <param name="source">The chunks; each is copied before the next is requested.</param>
    /// <param name="cancellationToken">Stops writing (what was written stays written).</param>
    /// <returns>A task that completes when every chunk has been written (not necessarily sent; await <see cref="DrainAsync"/> for that).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WriteAllAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        await foreach (var chunk in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            Write(chunk.Span);
            if (IsPaused)
            {
                await DrainAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOverflow(int writeSize)
    {
        var overflow = new WriteBufferOverflowException(_buffered, writeSize, _maxBufferSize);
        Metrics.WriteBufferOverflow(_overflowPolicy);
        if (_overflowPolicy == WriteBufferOverflowPolicy.FailConnection)
        {
            // Aborting takes this writer's lock again (reentrant) to release waiters; the peer sees a reset.
            _core.Fail(overflow);
        }

        throw overflow;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotWritable()
    {
        if (_failure is not null)
        {
            throw _failure;
        }

        if (_state is OutputState.EofRequested or OutputState.EofSent)
        {
            ThrowHelper.ThrowWriteAfterEof();
        }

        ThrowHelper.ThrowWriterClosed();
    }
}
