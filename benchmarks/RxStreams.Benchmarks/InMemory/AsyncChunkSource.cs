using RxStreams.Internal;

namespace RxStreams.Benchmarks.InMemory;

/// <summary>
/// The pull counterpart of <see cref="ChunkSource"/>: an <see cref="IAsyncEnumerable{T}"/> of the pre-built chunks whose
/// every <c>MoveNextAsync</c> completes at once, without allocating, so a pull framing benchmark measures the operator.
/// Chunks are copied by the operators (a user's own async source: a file, a Pipe).
/// </summary>
internal class AsyncChunkSource(ReadOnlyMemory<byte>[] chunks) : IAsyncEnumerable<ReadOnlyMemory<byte>>
{
    public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default) => new Enumerator(chunks);

    private sealed class Enumerator(ReadOnlyMemory<byte>[] chunks) : IAsyncEnumerator<ReadOnlyMemory<byte>>
    {
        private int _index = -1;

        public ReadOnlyMemory<byte> Current => chunks[_index];

        public ValueTask<bool> MoveNextAsync() => new(++_index < chunks.Length);

        public ValueTask DisposeAsync() => default;
    }
}

/// <summary>The same, marked as emitting owned memory (as a connection's <c>ReadChunksAsync</c> does): the operators adopt it.</summary>
internal sealed class OwnedAsyncChunkSource(ReadOnlyMemory<byte>[] chunks) : AsyncChunkSource(chunks), IOwnedMemorySource
{
    public bool EmitsOwnedMemory => true;
}
