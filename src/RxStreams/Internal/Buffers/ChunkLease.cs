namespace RxStreams.Internal;

/// <summary>
/// One chunk of a reader's buffer handed to a push consumer, and what becomes of its array afterwards: the one home of
/// the array-recycling protocol (ADR 0010).
/// </summary>
/// <remarks>
/// <para>
/// <c>var lease = ChunkLease.Take(ref buffer, copier); consumer.OnNext(lease.Chunk); lease.Settle(ref buffer, completed: true);</c>
/// (with <c>completed: false</c> from a <c>finally</c> when <c>OnNext</c> threw).
/// </para>
/// <code>
/// consumer                                  | receive strategy | chunk handed out  | after OnNext, holds nothing | holds a slice, or OnNext threw
/// copier (IChunkConsumer.CopiesChunks)      | Pooled           | Lend (poolable)   | RewindIfEmpty: array reused | MarkEscaped: never reused
/// anyone else (may keep what it is handed)  | Kept             | Expose (escaped)  | -                           | -
/// </code>
/// <para>
/// An escaped array is never written again and never pooled: slices of it are owned, immutable memory (see
/// docs/contract.md, guarantee 1 "Ownership"). A lent one may be, because the copier kept nothing of it.
/// </para>
/// </remarks>
internal readonly struct ChunkLease
{
    private readonly IChunkConsumer? _copier;

    private ChunkLease(ReadOnlyMemory<byte> chunk, IChunkConsumer? copier)
    {
        Chunk = chunk;
        _copier = copier;
    }

    /// <summary>The chunk to hand to the consumer.</summary>
    public ReadOnlyMemory<byte> Chunk { get; }

    /// <summary>The consumer, if it copies every chunk (and so may be lent pooled memory); else <see langword="null"/>.</summary>
    public static IChunkConsumer? CopierOf<T>(IObserver<T> observer) => observer is IChunkConsumer { CopiesChunks: true } copier ? copier : null;

    /// <summary>How receives for <paramref name="copier"/> take memory.</summary>
    public static ReceiveStrategy StrategyFor(IChunkConsumer? copier) => copier is null ? ReceiveStrategy.Kept : ReceiveStrategy.Pooled;

    /// <summary>Takes every unconsumed byte of <paramref name="buffer"/> as one chunk for the consumer.</summary>
    public static ChunkLease Take(ref ReadBuffer buffer, IChunkConsumer? copier)
    {
        var chunk = copier is null ? buffer.Expose() : buffer.Lend();
        buffer.Consume(chunk.Length);
        return new ChunkLease(chunk, copier);
    }

    /// <summary>After <c>OnNext</c>: the array is reused when the copier holds nothing, else it escapes for good.</summary>
    /// <param name="buffer">The buffer the chunk was taken from.</param>
    /// <param name="completed">Whether <c>OnNext</c> returned (false when it threw: whatever it did, assume it kept the chunk).</param>
    public void Settle(ref ReadBuffer buffer, bool completed)
    {
        if (_copier is null)
        {
            return; // exposed: escaped already
        }

        if (!completed || _copier.HoldsChunk)
        {
            buffer.MarkEscaped();
        }
        else
        {
            buffer.RewindIfEmpty(); // copied and not kept: nobody can observe the memory being reused
        }
    }
}
