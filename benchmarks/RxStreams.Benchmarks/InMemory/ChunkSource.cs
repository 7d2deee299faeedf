using RxStreams.Internal;

namespace RxStreams.Benchmarks.InMemory;

/// <summary>
/// The cheapest possible byte-chunk observable: <c>Subscribe</c> pushes every pre-built chunk synchronously, then
/// completes. No scheduler, no subject, no per-chunk allocation, so a framing benchmark measures the operator, not Rx's
/// sources (<c>chunks.ToObservable()</c> would schedule every item through the current-thread trampoline).
/// </summary>
internal class ChunkSource(ReadOnlyMemory<byte>[] chunks) : IObservable<ReadOnlyMemory<byte>>
{
    public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
    {
        foreach (var chunk in chunks)
        {
            observer.OnNext(chunk);
        }

        observer.OnCompleted();
        return NoSubscription.Instance;
    }

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// The same source, but marked (through the library's internal <see cref="IOwnedMemorySource"/>, visible to this
/// project) as emitting immutable memory the receiver owns, as a connection's reader does. The framing operators then
/// adopt the chunks instead of copying them: this is the path <c>connection.Reader.Lines()</c> takes. The plain
/// <see cref="ChunkSource"/> is the path of a user's own observable (a file, a Subject), which is copied once on entry.
/// </summary>
internal sealed class OwnedChunkSource(ReadOnlyMemory<byte>[] chunks) : ChunkSource(chunks), IOwnedMemorySource
{
    public bool EmitsOwnedMemory => true;
}

/// <summary>Counts the frames and their bytes, so the work cannot be optimised away and the totals can be checked.</summary>
internal sealed class CountingObserver : IObserver<ReadOnlyMemory<byte>>
{
    public long Frames { get; private set; }

    public long Bytes { get; private set; }

    public void OnNext(ReadOnlyMemory<byte> value)
    {
        Frames++;
        Bytes += value.Length;
    }

    public void OnError(Exception error) => throw new InvalidOperationException("The framing operator failed.", error);

    public void OnCompleted()
    {
    }

    public void Reset() => Frames = Bytes = 0;
}
