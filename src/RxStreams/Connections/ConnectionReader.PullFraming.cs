using System.Runtime.CompilerServices;
using RxStreams.Internal;

namespace RxStreams;

// The pull framing operators over ReadChunksAsync(): frames decoded in the reader's own buffer. The type's docs are in
// ConnectionReader.cs.
public sealed partial class ConnectionReader
{
    /// <summary>
    /// <c>reader.ReadChunksAsync(sourceToken).Lines()</c> enumerated with <paramref name="enumerationToken"/>: the frames of
    /// <paramref name="decoder"/>, read only when asked for, with the same driver and outcomes as
    /// <see cref="ReadFramesCoreAsync"/> (which it equals, frame for frame and error for error).
    /// </summary>
    internal IAsyncEnumerator<TFrame> EnumerateFrames<TFrame>(FrameDecoder<TFrame> decoder, CancellationToken sourceToken, CancellationToken enumerationToken) =>
        new FrameEnumerator<TFrame>(this, decoder, sourceToken, enumerationToken);

    /// <summary>
    /// Hand-written rather than an async iterator: a frame already in the buffer is returned synchronously as a plain
    /// <see cref="ValueTask{TResult}"/>, with no state machine per frame; only an empty buffer awaits the next receive.
    /// </summary>
    /// <remarks>
    /// <code>
    /// state     | MoveNextAsync
    /// new       | take the reader (one consumer), then as "reading"
    /// reading   | a buffered frame: return it; else fill and decode; at the end: the driver's end or failure, then release
    /// finished  | false
    /// DisposeAsync releases the reader if it is still taken; the rest of the input stays for the next consumer.
    /// </code>
    /// </remarks>
    private sealed class FrameEnumerator<TFrame> : IAsyncEnumerator<TFrame>
    {
        private readonly ConnectionReader _reader;
        private readonly CancellationTokenSource? _linked;
        private readonly CancellationToken _cancellationToken;
        private FrameDriver<TFrame> _driver;
        private bool _acquired;
        private bool _inputEnded;
        private bool _finished;
        private TFrame _current = default!;

        public FrameEnumerator(ConnectionReader reader, FrameDecoder<TFrame> decoder, CancellationToken sourceToken, CancellationToken enumerationToken)
        {
            _reader = reader;
            _driver = new FrameDriver<TFrame>(decoder, reader.Watchdog);
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

        public TFrame Current => _current;

        public ValueTask<bool> MoveNextAsync()
        {
            if (_acquired && !_inputEnded)
            {
                var reader = _reader;
                try
                {
                    // Synchronously while the bytes are there: a frame buffered, or bytes already received (a busy
                    // stream) that complete one. Only a receive that would wait goes to ReadAsync's state machine.
                    do
                    {
                        if (_driver.TryNext(ref reader._buffer, out var frame))
                        {
                            _current = frame;
                            return new ValueTask<bool>(true);
                        }
                    }
                    while (reader.TryFill(ReceiveStrategy.Kept) > 0);
                }
                catch (Exception error)
                {
                    Finish();
                    return ValueTask.FromException<bool>(error);
                }
            }

            return _finished ? new ValueTask<bool>(false) : ReadAsync();
        }

        public ValueTask DisposeAsync()
        {
            Finish();
            _linked?.Dispose();
            return default;
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> ReadAsync()
        {
            var reader = _reader;
            if (!_acquired)
            {
                await reader.AcquireAsync(_cancellationToken).ConfigureAwait(false);
                _acquired = true;
            }

            try
            {
                while (!_inputEnded)
                {
                    if (_driver.TryNext(ref reader._buffer, out var frame))
                    {
                        _current = frame;
                        return true;
                    }

                    // FillAsync's loop, inlined as the push read loop has it: one state machine per wait, not three.
                    int received = reader.TryFill(ReceiveStrategy.Kept); // pull reads hand out slices that may be kept
                    if (received > 0)
                    {
                        continue;
                    }

                    if (received == 0)
                    {
                        _inputEnded = true;
                        if (reader._error is { } error)
                        {
                            throw _driver.Fail(ref reader._buffer, error);
                        }

                        break;
                    }

                    if (reader.OwnWriter is { HasUnflushedData: true } writer)
                    {
                        writer.FlushNow(); // request/response in pull style: what was written leaves before we wait
                    }

                    try
                    {
                        await reader._source.WaitAsync(_cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception error) when (error is not OperationCanceledException || !_cancellationToken.IsCancellationRequested)
                    {
                        reader._source.OnWaitFailed(error); // the next TryFill reports it
                    }
                }

                if (_driver.TryNextAtEnd(ref reader._buffer, out var last))
                {
                    _current = last;
                    return true;
                }

                Finish();
                return false;
            }
            catch
            {
                Finish();
                throw;
            }
        }

        /// <summary>No more frames: gives the reader back (once).</summary>
        private void Finish()
        {
            _finished = true;
            if (_acquired)
            {
                _acquired = false;
                _reader.Release();
            }
        }
    }
}
