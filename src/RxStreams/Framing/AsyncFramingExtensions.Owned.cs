using RxStreams.Internal;

namespace RxStreams.Framing;

public static partial class AsyncFramingExtensions
{
    /// <summary>
    /// Declares that <paramref name="source"/> hands over its chunks for good: the pull framing operators applied to the
    /// result then slice frames straight out of the chunks' memory instead of copying every chunk first. The pull
    /// counterpart of <see cref="FramingExtensions.AsOwned"/>, with the same promise.
    /// </summary>
    /// <param name="source">
    /// The byte chunks. <b>The caller promises</b> that no one writes to a chunk's memory once it has been returned by
    /// <c>Current</c>, ever: not the source on its next <c>MoveNextAsync</c>, not a pool it returns arrays to. A
    /// <c>PipeReader</c>'s buffers and a <c>Stream</c> read into one reused array break it; fresh arrays keep it.
    /// </param>
    /// <returns>
    /// The same chunks, marked as owned. Enumerating it enumerates <paramref name="source"/> itself: nothing is added per
    /// chunk. A source that is owned already (<see cref="ConnectionReader.ReadChunksAsync"/>, a pull framing operator's
    /// output) is returned as it is.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// If the promise is broken, frames the consumer holds change under it when the memory is rewritten, and a frame that
    /// straddles two chunks may come out with the wrong bytes; nothing detects it. Without <c>AsOwned</c> the operators
    /// copy each chunk once, which is always safe.
    /// </remarks>
    public static IAsyncEnumerable<ReadOnlyMemory<byte>> AsOwned(this IAsyncEnumerable<ReadOnlyMemory<byte>> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source is IOwnedMemorySource { EmitsOwnedMemory: true } ? source : new OwnedAsyncChunks(source);
    }
}
