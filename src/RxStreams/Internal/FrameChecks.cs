using System.Runtime.CompilerServices;

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
            throw BrokenContract(decoder, consumed, buffered, atEnd);
        }

        return consumed;
    }

    // Out of line so the check inlines into every framing loop as a compare and a branch, not a string formatter.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException BrokenContract(object decoder, int consumed, int buffered, bool atEnd) =>
        new($"The decoder {decoder.GetType().Name} reported a {(atEnd ? "last " : string.Empty)}frame that consumed {consumed} of {buffered} bytes; a frame must consume between {(atEnd ? 0 : 1)} and all of them.");
}
