namespace RxStreams;

/// <summary>What a writer does when a write would exceed <see cref="ConnectionOptions.MaxWriteBufferSize"/>. Never silent loss, never unbounded growth.</summary>
public enum WriteBufferOverflowPolicy
{
    /// <summary>
    /// The default: the write throws <see cref="WriteBufferOverflowException"/> and the connection is aborted with it
    /// (the peer sees a reset, so it cannot mistake the truncated stream for a complete one).
    /// </summary>
    FailConnection,

    /// <summary>
    /// The write throws <see cref="WriteBufferOverflowException"/> and writes nothing; the connection goes on, so the
    /// caller can <see cref="ConnectionWriter.DrainAsync"/> and retry.
    /// </summary>
    RejectWrite,
}
