namespace RxStreams.Internal;

/// <summary>Where a <see cref="ConnectionReader"/> gets its bytes: a connection's core (over its channel), or bytes fed by hand.</summary>
/// <remarks>
/// Receiving is split in two so that a waiting reader holds as little as possible: <see cref="TryReceive"/> takes
/// whatever is there without waiting, and <see cref="WaitAsync"/> waits for "something happened" without any buffer.
/// An idle connection therefore holds one pending zero-byte wait and no receive memory.
/// </remarks>
internal abstract class ByteSource
{
    /// <summary>Appends what is available to <paramref name="buffer"/> without waiting.</summary>
    /// <param name="buffer">The reader's buffer.</param>
    /// <param name="strategy">How the receive takes memory: the consumer's choice (see <see cref="ChunkLease"/>).</param>
    /// <returns>The byte count; 0 at the end of the input (sticky); -1 when nothing is available yet.</returns>
    /// <exception cref="IOException">The input failed.</exception>
    public abstract int TryReceive(ref ReadBuffer buffer, ReceiveStrategy strategy);

    /// <summary>
    /// Completes when <see cref="TryReceive"/> may have something to report (bytes, the end, an error). May complete
    /// spuriously, and may fault; either way the caller just calls <see cref="TryReceive"/> again.
    /// </summary>
    public abstract ValueTask<int> WaitAsync(CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="WaitAsync"/> for the push reader, whose subscribers never block: may resume it inline on the channel's
    /// I/O thread (<see cref="IByteChannel.WaitInlineAsync"/>).
    /// </summary>
    public virtual ValueTask<int> WaitInlineAsync(CancellationToken cancellationToken) => WaitAsync(cancellationToken);

    /// <summary>
    /// The wait failed. The failure must not be lost: a socket reports an error once, so the next receive would see a
    /// clean end instead. The next <see cref="TryReceive"/> reports it.
    /// </summary>
    public virtual void OnWaitFailed(Exception error)
    {
    }

    /// <summary>Completes when the source can deliver nothing more (its connection closed); <see langword="null"/> if it has no such signal.</summary>
    public virtual Task? Stopped => null;

    /// <summary>Whether it is known that no more bytes will come.</summary>
    public abstract bool InputEnded { get; }

    /// <summary>An error that ended (or will end, once the bytes before it are read) the input.</summary>
    public abstract Exception? PendingError { get; }

    /// <summary>A subscriber's <c>OnNext</c> threw: the connection is this subscriber's and goes down with it.</summary>
    public abstract void OnConsumerFault(Exception error);

    /// <summary>Whether the bytes come from a network (counted in the metrics); bytes fed by hand are not.</summary>
    public virtual bool IsNetworkInput => false;

    /// <summary>Bytes the source holds that count as already buffered by the reader (asyncio's <c>feed_data</c> appends at once).</summary>
    public virtual int QueuedLength => 0;

    /// <summary>Whether the end was announced, even with bytes still queued (asyncio's <c>eof</c> flag, shown by <c>repr</c>).</summary>
    public virtual bool EndAnnounced => InputEnded;
}
