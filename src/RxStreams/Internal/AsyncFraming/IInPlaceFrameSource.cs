namespace RxStreams.Internal;

/// <summary>
/// An async source of byte chunks that can run a decoder over its own buffer instead of handing chunks out (a
/// connection's <c>ReadChunksAsync()</c>): the pull framing operators ask for this capability by interface and, when a
/// source has it, let it decode in place, with no copy and no enumerator of chunks in between.
/// </summary>
internal interface IInPlaceFrameSource
{
    /// <summary>The frames of <paramref name="decoder"/> over this source's bytes, each read only when asked for.</summary>
    /// <typeparam name="TFrame">What a frame decodes to.</typeparam>
    /// <param name="decoder">A fresh decoder for this enumeration.</param>
    /// <param name="cancellationToken">The enumeration's token (linked with the source's own, if it has one).</param>
    /// <returns>The enumerator of frames.</returns>
    IAsyncEnumerator<TFrame> EnumerateFrames<TFrame>(FrameDecoder<TFrame> decoder, CancellationToken cancellationToken);
}
