namespace RxStreams.Internal;

/// <summary>Everything taken from a <see cref="SendQueue"/> for one send: one segment, or a list for a gathered send.</summary>
internal readonly struct SendBatch(ArraySegment<byte> single, List<ArraySegment<byte>>? many)
{
    /// <summary>The only segment, when <see cref="Many"/> is <see langword="null"/>.</summary>
    public ArraySegment<byte> Single => single;

    /// <summary>All the segments, in order, when there is more than one.</summary>
    public List<ArraySegment<byte>>? Many => many;

    public long ByteCount
    {
        get
        {
            if (many is null)
            {
                return single.Count;
            }

            long total = 0;
            foreach (var segment in many)
            {
                total += segment.Count;
            }

            return total;
        }
    }
}
