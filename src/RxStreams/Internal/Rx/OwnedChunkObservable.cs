namespace RxStreams.Internal;

/// <summary>
/// What <c>AsOwned()</c> returns for an observable: the same chunks, marked as owned memory on the caller's word, so
/// the framing operators adopt them instead of copying (see <see cref="IOwnedMemorySource"/>).
/// </summary>
/// <remarks>
/// Subscribing subscribes the observer to the source directly: nothing runs per chunk, so the mark costs nothing.
/// </remarks>
internal sealed class OwnedChunkObservable(IObservable<ReadOnlyMemory<byte>> source) : IObservable<ReadOnlyMemory<byte>>, IOwnedMemorySource
{
    /// <summary>The caller promised that the source never writes to memory it has emitted.</summary>
    public bool EmitsOwnedMemory => true;

    public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer) => source.Subscribe(observer);
}
