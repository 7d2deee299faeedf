namespace RxStreams.Internal;

/// <summary>
/// Frames a chunk that is only lent (the reader reuses its array once <c>OnNext</c> returns, see <see cref="ChunkLease"/>)
/// for a downstream that copies every frame: the chunk is decoded in place, and only a frame cut by the chunk's end is
/// copied, into the framer's own carry buffer, so the framer never holds the reader's memory and the reader's array goes
/// on being reused (a bulk echo of long lines allocated two arrays per receive before: one escaped, one copy).
/// </summary>
/// <remarks>
/// <para>
/// A carried frame is completed by appending the chunk's bytes to it in doubling pieces, so that little more than the
/// rest of that frame is copied; once every carried byte has left in a frame, the bytes of the last piece still
/// unconsumed are the chunk's own, and decoding goes on in the chunk itself. Swapping those bytes for the same bytes in
/// place is invisible to a decoder: it sees the same unconsumed bytes, followed by more (as if they had been appended).
/// </para>
/// <para>
/// The carry's array is reused once its frames are sent on (the downstream copied them and holds nothing); if the
/// downstream holds something, the array is only ever appended to, never rewritten.
/// </para>
/// </remarks>
internal static class LentChunkFraming
{
    /// <summary>The first piece of a chunk appended to a carried frame (then 2x, 4x...).</summary>
    private const int FirstPiece = 256;

    /// <summary>Emits every frame of <paramref name="carry"/> followed by <paramref name="chunk"/>; what is left ends up in <paramref name="carry"/>.</summary>
    /// <param name="driver">The framer's driver.</param>
    /// <param name="carry">The framer's buffer: before and after the call, only its own memory (a carried partial frame).</param>
    /// <param name="chunk">The lent chunk: no reference to it is kept after the call returns, unless the consumer stopped.</param>
    /// <param name="consumer">Where frames go.</param>
    /// <param name="downstream">The consumer's copier: asked whether it holds a frame before the carry's array is reused.</param>
    /// <returns>The decoder's error, if it threw; the caller checks whether its consumer stopped.</returns>
    public static Exception? Drain<TFrame, TConsumer>(
        in FrameDriver<TFrame> driver, ref ReadBuffer carry, ReadOnlyMemory<byte> chunk, TConsumer consumer, IChunkConsumer downstream)
        where TConsumer : struct, IFrameConsumer<TFrame>
    {
        var tracked = new StopTracking<TFrame, TConsumer>(consumer);
        int start = 0;
        if (carry.Length > 0)
        {
            int taken = 0;
            for (int piece = Math.Max(FirstPiece, carry.Length); ; piece *= 2)
            {
                int count = Math.Min(piece, chunk.Length - taken);
                carry.Append(chunk.Span.Slice(taken, count));
                taken += count;
                if (driver.Drain(ref carry, ref tracked) is { } error)
                {
                    return error;
                }

                if (tracked.Stopped)
                {
                    return null;
                }

                if (carry.Length <= taken)
                {
                    // Every carried byte left in a frame: what is unconsumed is the chunk's own, decoded in place below.
                    start = taken - carry.Length;
                    carry.Clear();
                    if (!downstream.HoldsChunk)
                    {
                        carry.RewindIfEmpty(); // its frames were copied, and nothing of them is held: reuse the array
                    }

                    break;
                }

                if (taken == chunk.Length)
                {
                    return null; // the whole chunk went into the carried frame, which is still incomplete
                }
            }
        }

        if (start == chunk.Length)
        {
            return null;
        }

        var inPlace = default(ReadBuffer);
        inPlace.AppendOwned(chunk[start..]);
        if (driver.Drain(ref inPlace, ref tracked) is { } decodeError)
        {
            return decodeError;
        }

        if (!tracked.Stopped && inPlace.Length > 0)
        {
            carry.Append(inPlace.Lend().Span); // the start of a frame the next chunk completes: ours from now on
        }

        return null;
    }

    /// <summary>Passes frames on and remembers whether the consumer asked to stop (a drain returns either way).</summary>
    private struct StopTracking<TFrame, TConsumer>(TConsumer inner) : IFrameConsumer<TFrame>
        where TConsumer : struct, IFrameConsumer<TFrame>
    {
        private TConsumer _inner = inner;

        public bool Stopped { get; private set; }

        public bool OnFrame(TFrame frame)
        {
            if (_inner.OnFrame(frame))
            {
                return true;
            }

            Stopped = true;
            return false;
        }
    }
}
