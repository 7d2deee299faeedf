namespace RxStreams.Internal;

/// <summary>The outlet of a pair: the other end's inbound <see cref="InMemoryPipe"/>.</summary>
internal sealed class PipeOutlet(InMemoryPipe pipe) : IInMemoryOutlet
{
    public ValueTask SendAsync(SendBatch batch, ISendProgress progress)
    {
        if (batch.Many is not { } many)
        {
            return SendSegmentAsync(batch.Single, progress);
        }

        for (int i = 0; i < many.Count; i++)
        {
            var pending = SendSegmentAsync(many[i], progress);
            if (!pending.IsCompletedSuccessfully)
            {
                return SendRestAsync(pending, many, i + 1, progress);
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

    private ValueTask SendSegmentAsync(ArraySegment<byte> segment, ISendProgress progress)
    {
        int taken = pipe.Offer(segment.AsSpan());
        progress.OnBytesSent(taken);
        return taken == segment.Count ? default : WaitAndSendAsync(segment[taken..], progress);
    }

    private async ValueTask WaitAndSendAsync(ArraySegment<byte> rest, ISendProgress progress)
    {
        while (rest.Count > 0)
        {
            // A full pipe is a full TCP window: wait until the receiver takes what is queued.
            await pipe.WaitForSpaceAsync().ConfigureAwait(false);
            int taken = pipe.Offer(rest.AsSpan());
            progress.OnBytesSent(taken);
            rest = rest[taken..];
        }
    }

    private async ValueTask SendRestAsync(ValueTask pending, List<ArraySegment<byte>> many, int next, ISendProgress progress)
    {
        await pending.ConfigureAwait(false);
        for (int i = next; i < many.Count; i++)
        {
            await SendSegmentAsync(many[i], progress).ConfigureAwait(false);
        }
    }
}
