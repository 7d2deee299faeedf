using System.Runtime.CompilerServices;

namespace RxStreams;

// async for line in reader: the enumerator behind GetAsyncEnumerator and ReadLinesAsync. The type's docs are in
// ConnectionReader.cs.
public sealed partial class ConnectionReader
{
    /// <summary>What <see cref="ReadLinesAsync"/> returns: each enumeration reads lines with <see cref="ReadLineAsync"/>.</summary>
    private sealed class LineSequence(ConnectionReader reader, CancellationToken sourceToken) : IAsyncEnumerable<ReadOnlyMemory<byte>>
    {
        public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            new LineEnumerator(reader, sourceToken, cancellationToken);
    }

    /// <summary>
    /// One <see cref="ReadLineAsync"/> per line until the empty line that means the end, as asyncio's <c>__anext__</c>
    /// does; the reader is free between lines, so other reads may come in between. Hand-written rather than an async
    /// iterator: a line the buffer already holds is returned synchronously, with no state machine to resume per line.
    /// </summary>
    /// <remarks>After the end, an error or <see cref="DisposeAsync"/>, <see cref="MoveNextAsync"/> returns false.</remarks>
    private sealed class LineEnumerator : IAsyncEnumerator<ReadOnlyMemory<byte>>
    {
        private readonly ConnectionReader _reader;
        private readonly CancellationTokenSource? _linked;
        private readonly CancellationToken _cancellationToken;
        private bool _finished;
        private ReadOnlyMemory<byte> _current;

        public LineEnumerator(ConnectionReader reader, CancellationToken sourceToken, CancellationToken enumerationToken)
        {
            _reader = reader;
            if (sourceToken.CanBeCanceled && enumerationToken.CanBeCanceled)
            {
                _linked = CancellationTokenSource.CreateLinkedTokenSource(sourceToken, enumerationToken);
                _cancellationToken = _linked.Token;
            }
            else
            {
                _cancellationToken = sourceToken.CanBeCanceled ? sourceToken : enumerationToken;
            }
        }

        public ReadOnlyMemory<byte> Current => _current;

        public ValueTask<bool> MoveNextAsync()
        {
            if (_finished)
            {
                return new ValueTask<bool>(false);
            }

            ValueTask<ReadOnlyMemory<byte>> read;
            try
            {
                read = _reader.ReadLineAsync(_cancellationToken);
            }
            catch (Exception error)
            {
                _finished = true; // an async iterator ends at its first exception: so does this
                return ValueTask.FromException<bool>(error);
            }

            return read.IsCompletedSuccessfully ? new ValueTask<bool>(Accept(read.Result)) : AwaitLineAsync(read);
        }

        public ValueTask DisposeAsync()
        {
            _finished = true;
            _linked?.Dispose();
            return default;
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> AwaitLineAsync(ValueTask<ReadOnlyMemory<byte>> read)
        {
            try
            {
                return Accept(await read.ConfigureAwait(false));
            }
            catch
            {
                _finished = true;
                throw;
            }
        }

        /// <summary>An empty line is the end of the input.</summary>
        private bool Accept(ReadOnlyMemory<byte> line)
        {
            if (line.IsEmpty)
            {
                _finished = true;
                return false;
            }

            _current = line;
            return true;
        }
    }
}
