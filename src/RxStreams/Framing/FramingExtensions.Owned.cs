using RxStreams.Internal;

namespace RxStreams.Framing;

public static partial class FramingExtensions
{
    /// <summary>
    /// Declares that <paramref name="source"/> hands over its chunks for good: the framing operators applied to the
    /// result then slice frames straight out of the chunks' memory instead of copying every chunk first, as they do for
    /// a connection's reader. An opt-in for sources you wrote yourself (a file read into fresh arrays, a parser's
    /// output); without it the operators copy, which is always safe.
    /// </summary>
    /// <param name="source">
    /// The byte chunks. <b>The caller promises</b> that no one writes to a chunk's memory once it has been emitted, ever:
    /// not the source when it reads its next chunk, not a pool it returns arrays to, not any other code that holds the
    /// array. Emitting a fresh array, or a slice of an array that is filled front to back and never rewound, keeps it.
    /// </param>
    /// <returns>
    /// The same chunks, marked as owned. Subscribing subscribes to <paramref name="source"/> itself: nothing is added per
    /// chunk. A source that is owned already (a connection's reader, a framing operator's output) is returned as it is.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// <para>
    /// What breaks if the promise is broken (a source that reuses one buffer, or returns its arrays to an
    /// <see cref="System.Buffers.ArrayPool{T}"/> after <c>OnNext</c>): frames are slices of the chunks, so a frame the
    /// consumer holds changes under it when the memory is rewritten, and a frame that straddles two chunks may come out
    /// with the wrong bytes (its start is kept in the old chunk until the next one arrives). Nothing detects it:
    /// frames are silently wrong. Guarantee 1 "Ownership" of docs/contract.md holds for the frames only as long as the
    /// promise holds.
    /// </para>
    /// <para>
    /// The frames may keep a chunk's whole array alive while any of them is held (as they do over a reader); keep
    /// <c>frame.ToArray()</c> instead when you hold on to a few small frames for a long time.
    /// </para>
    /// </remarks>
    /// <example>
    /// <code>
    /// IObservable&lt;ReadOnlyMemory&lt;byte&gt;&gt; chunks = ReadFileInFreshArrays(path); // a new array per chunk
    /// chunks.AsOwned().Lines().Subscribe(line => Handle(line));
    /// </code>
    /// </example>
    public static IObservable<ReadOnlyMemory<byte>> AsOwned(this IObservable<ReadOnlyMemory<byte>> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source is IOwnedMemorySource { EmitsOwnedMemory: true } ? source : new OwnedChunkObservable(source);
    }
}
