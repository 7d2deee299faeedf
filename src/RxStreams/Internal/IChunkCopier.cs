namespace RxStreams.Internal;

/// <summary>
/// An observer of a reader's chunks that may copy everything it is handed and keep no reference to it, so the reader
/// can recycle its receive arrays (<see cref="ReadBuffer.RecyclesArrays"/>). A framing operator whose frames go straight
/// to a <see cref="ConnectionWriter"/> is one, as long as it holds no partial frame.
/// </summary>
internal interface IChunkCopier
{
    /// <summary>Whether this observer ever copies its chunks without keeping them (fixed per subscription).</summary>
    bool CopiesChunks { get; }

    /// <summary>Asked after each <c>OnNext</c>: whether the observer holds no reference to any chunk it was handed.</summary>
    bool RetainsNothing { get; }
}
