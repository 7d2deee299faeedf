using System.Reactive;
using Microsoft.Reactive.Testing;
using RxStreams.Internal;

namespace RxStreams.Testing;

/// <summary>
/// The far end of a <see cref="TestConnection"/>: takes every send at once (so the handler's writer never waits) and
/// records it, its half-close and its close, at the scheduler's virtual time.
/// </summary>
internal sealed class OutputRecorder(TestScheduler scheduler) : IInMemoryOutlet
{
    private readonly List<Recorded<Notification<byte[]>>> _records = [];
    private bool _ended;

    /// <summary>A snapshot of what was recorded so far.</summary>
    public IList<Recorded<Notification<byte[]>>> Snapshot()
    {
        lock (_records)
        {
            return _records.ToList();
        }
    }

    public ValueTask SendAsync(SendBatch batch, ISendProgress progress)
    {
        byte[] bytes;
        if (batch.Many is { } many)
        {
            bytes = many.SelectMany(static segment => segment).ToArray();
        }
        else
        {
            bytes = batch.Single.ToArray();
        }

        lock (_records)
        {
            _records.Add(new Recorded<Notification<byte[]>>(scheduler.Clock, Notification.CreateOnNext(bytes)));
        }

        progress.OnBytesSent(bytes.Length);
        return default;
    }

    public void ShutdownSend() => End(null);

    public void Close(Exception? reset) => End(reset);

    private void End(Exception? reset)
    {
        lock (_records)
        {
            if (_ended)
            {
                return; // a close after the half-close: the peer saw the end already
            }

            _ended = true;
            _records.Add(new Recorded<Notification<byte[]>>(
                scheduler.Clock,
                reset is null ? Notification.CreateOnCompleted<byte[]>() : Notification.CreateOnError<byte[]>(reset)));
        }
    }
}
