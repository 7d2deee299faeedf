namespace RxStreams.Internal;

/// <summary>
/// What <c>AsOwned()</c> returns for an async sequence: the same chunks, marked as owned memory on the caller's word, so
/// the pull framing operators adopt them instead of copying (see <see cref="IOwnedMemorySource"/>).
/// </summary>
/// <remarks>Enumerating it enumerates the source directly: nothing runs per chunk, so the mark costs nothing.</remarks>
internal sealed class OwnedAsyncChunks(IAsyncEnumerable<ReadOnlyMemory<byte>> source) : IAsyncEnumerable<ReadOnlyMemory<byte>>, IOwnedMemorySource
{
    /// <summary>The caller promised that the source never writes to memory it has emitted.</summary>
    public bool EmitsOwnedMemory => true;

    public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        source.GetAsyncEnumerator(cancellationToken);
}
