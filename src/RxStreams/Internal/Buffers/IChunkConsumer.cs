namespace RxStreams.Internal;

/// <summary>
/// A push consumer of a reader's chunks that can say what it does with them, so the reader may lend it pooled memory
/// (<see cref="ChunkLease"/>). Implemented by <see cref="ConnectionWriter"/> (copies every chunk, keeps nothing) and by
/// the framing sink, which forwards its downstream's answer: its frames are slices of the chunk, so they are copied only
/// if its downstream copies them.
/// </summary>
internal interface IChunkConsumer
{
    /// <summary>Whether every chunk handed to <c>OnNext</c> is copied before the call returns (fixed per subscription).</summary>
    bool CopiesChunks { get; }

    /// <summary>Asked after each <c>OnNext</c>: whether a reference to the chunk (or a slice of it) is still held.</summary>
    bool HoldsChunk { get; }
}
