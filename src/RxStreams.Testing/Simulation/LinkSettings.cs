namespace RxStreams.Testing;

/// <summary>
/// How one pair of hosts is connected in a <see cref="SimulatedNetwork"/>: latency, jitter, bandwidth, segment size and
/// how many bytes each direction holds in flight. Both directions use the same settings; changes apply to segments sent
/// afterwards.
/// </summary>
public sealed class LinkSettings
{
    /// <summary>One-way delay of every segment: 1 ms by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan Latency
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            field = value;
        }
    } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Extra delay drawn from the seed for each segment, between zero and this: zero by default. Segments never overtake
    /// each other (TCP delivers in order), so jitter delays the ones behind a late segment too.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan Jitter
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            field = value;
        }
    }

    /// <summary>Bytes per second each direction carries; <see langword="null"/> (the default) for no limit.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public long? BytesPerSecond
    {
        get;
        set
        {
            if (value is { } rate)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
            }

            field = value;
        }
    }

    /// <summary>
    /// The largest segment, in bytes: 1460 by default. Each segment is cut at a size drawn from the seed between 1 and
    /// this, so where a receiver's chunks split a message changes from seed to seed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int SegmentSize
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = 1460;

    /// <summary>
    /// Bytes one direction holds between the two sockets (sent, not yet taken by the receiving socket): 64 KiB by
    /// default. When it is full the sender's socket stops draining its writer, whose buffer then grows past its
    /// high-water mark: backpressure reaches the sending application.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int BufferSize
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = 64 * 1024;

    /// <summary>A copy, to give another pair of hosts the same settings.</summary>
    /// <returns>The copy.</returns>
    public LinkSettings Clone() => (LinkSettings)MemberwiseClone();
}
