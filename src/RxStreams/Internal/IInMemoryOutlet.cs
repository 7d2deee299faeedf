namespace RxStreams.Internal;

/// <summary>Where an <see cref="InMemoryTransport"/> sends: the peer's inbound pipe, or a test's recorder.</summary>
internal interface IInMemoryOutlet
{
    /// <summary>Sends every segment in order, reporting progress through <paramref name="onSent"/> as bytes are taken.</summary>
    ValueTask SendAsync(SendBatch batch, Action<int> onSent);

    /// <summary>Our side half-closed (a FIN).</summary>
    void ShutdownSend();

    /// <summary>Our side closed: gracefully (a FIN after what was sent) or with <paramref name="reset"/> (an RST).</summary>
    void Close(Exception? reset);
}

/// <summary>The outlet of a pair: the other end's inbound <see cref="InMemoryPipe"/>.</summary>
internal sealed class PipeOutlet(InMemoryPipe pipe) : IInMemoryOutlet
{
    public ValueTask SendAsync(SendBatch batch, Action<int> onSent)
    {
        if (batch.Many is not { } many)
        {
            return SendSegmentAsync(batch.Single, onSent);
        }

        for (int i = 0; i < many.Count; i++)
        {
            var pending = SendSegmentAsync(many[i], onSent);
            if (!pending.IsCompletedSuccessfully)
            {
                return SendRestAsync(pending, many, i + 1, onSent);
            }
        }

        return default;
    }

    public void ShutdownSend() => pipe.ShutdownSend();

    public void Close(Exception? reset)
    {
        if (reset is null)
        {
            pipe.ShutdownSend();
        }
        else
        {
            pipe.Reset(reset);
        }
    }

    private ValueTask SendSegmentAsync(ArraySegment<byte> segment, Action<int> onSent)
    {
        int taken = pipe.Offer(segment.AsSpan());
        onSent(taken);
        return taken == segment.Count ? default : WaitAndSendAsync(segment[taken..], onSent);
    }

    private async ValueTask WaitAndSendAsync(ArraySegment<byte> rest, Action<int> onSent)
    {
        while (rest.Count > 0)
        {
            // A full pipe is a full TCP window: wait until the receiver takes what is queued.
            await pipe.WaitForSpaceAsync().ConfigureAwait(false);
            int taken = pipe.Offer(rest.AsSpan());
            onSent(taken);
            rest = rest[taken..];
        }
    }

    private async ValueTask SendRestAsync(ValueTask pending, List<ArraySegment<byte>> many, int next, Action<int> onSent)
    {
        await pending.ConfigureAwait(false);
        for (int i = next; i < many.Count; i++)
        {
            await SendSegmentAsync(many[i], onSent).ConfigureAwait(false);
        }
    }
}
