namespace RxStreams.Internal;

/// <summary>The one check of what a decoder reports, shared by the operators and the pull methods (same bytes, same errors).</summary>
internal static class FrameChecks
{
    /// <summary>
    /// Returns <paramref name="consumed"/> if it is possible: between 1 (0 for a last frame at the end) and every byte
    /// buffered. A decoder that consumes nothing would otherwise loop forever, and one that consumes more than it was
    /// given would corrupt the buffer.
    /// </summary>
    /// <exception cref="InvalidOperationException">The decoder broke the <see cref="Framing.IFrameDecoder{TFrame}"/> contract.</exception>
    public static int Consumed(object decoder, int consumed, int buffered, bool atEnd)
    {
        if (consumed < (atEnd ? 0 : 1) || consumed > buffered)
        {
            throw new InvalidOperationException(
                $"The decoder {decoder.GetType().Name} reported a {(atEnd ? "last " : string.Empty)}frame that consumed {consumed} of {buffered} bytes; a frame must consume between {(atEnd ? 0 : 1)} and all of them.");
        }

        return consumed;
    }
}
