namespace RxStreams.Internal;

/// <summary>How a receive takes memory from the reader's <see cref="ReadBuffer"/>; chosen by the consumer, per receive.</summary>
internal enum ReceiveStrategy
{
    /// <summary>
    /// Slices of what is received may be kept by anyone: memory is allocated, never pooled, and a socket sizes a
    /// receive after a wake by what is queued (an ioctl), so a kept frame does not pin an oversized array.
    /// </summary>
    Kept,

    /// <summary>
    /// The consumer copies every chunk it is lent (a <see cref="ConnectionWriter"/>, or a framer feeding one): memory is
    /// rented from the pool and returned, and a receive skips asking how much is queued (see <see cref="ChunkLease"/>).
    /// </summary>
    Pooled,
}
