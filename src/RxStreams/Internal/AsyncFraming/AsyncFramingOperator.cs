using System.Runtime.CompilerServices;

namespace RxStreams.Internal;

/// <summary>
/// Runs a decoder over any <c>IAsyncEnumerable&lt;ReadOnlyMemory&lt;byte&gt;&gt;</c> (a connection's
/// <c>ReadChunksAsync()</c>, a file, a <c>Pipe</c>, a <c>Channel</c>) with the same <see cref="FrameDriver{TFrame}"/> as
/// the push operators, so the same chunks give the same frames and errors push or pull.
/// </summary>
/// <remarks>
/// <para>State table of one enumeration:</para>
/// <code>
/// event                  | action
/// MoveNextAsync          | a frame already buffered: return it; else pull the next chunk (only now: pull backpressure)
/// a chunk                | append (adopt owned memory, copy anything else), then decode
/// the source ends        | the driver's end: the last frame(s), or IncompleteReadException
/// the source throws e    | the driver's failure: e when nothing is buffered, else IncompleteReadException(partial, expected, e)
/// the decoder throws     | that exception: LimitOverrunException, InvalidDataException
/// cancellation           | OperationCanceledException as is (the consumer asked for it)
/// DisposeAsync           | dispose the source's enumerator, drop the buffer
/// </code>
/// <para>
/// A source that can decode in place (<see cref="IInPlaceFrameSource"/>: a connection's <see cref="ConnectionChunks"/>) is
/// not copied at all: the operator decodes in the reader's own buffer (<c>ConnectionReader.EnumerateFrames</c>), reading
/// only when the consumer asks, with the connection's frame timeout. Any other source that carries a frame timeout
/// (<see cref="IFrameTimeoutSource"/>) gets it here as it does push.
/// </para>
/// </remarks>
internal sealed class AsyncFramingOperator<TFrame>(IAsyncEnumerable<ReadOnlyMemory<byte>> source, Func<FrameDecoder<TFrame>> decoderFactory, bool emitsOwnedMemory)
    : IAsyncEnumerable<TFrame>, IOwnedMemorySource
{
    /// <summary>Whether the frames are slices of owned memory (true for the built-in byte framers).</summary>
    public bool EmitsOwnedMemory => emitsOwnedMemory;

    public IAsyncEnumerator<TFrame> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (source is IInPlaceFrameSource inPlace)
        {
            return inPlace.EnumerateFrames(decoderFactory(), cancellationToken);
        }

        bool inputIsOwned = source is IOwnedMemorySource { EmitsOwnedMemory: true };
        var watchdog = (source as IFrameTimeoutSource)?.FrameWatchdog;
        return new Enumerator(source.GetAsyncEnumerator(cancellationToken), new FrameDriver<TFrame>(decoderFactory(), watchdog), inputIsOwned, cancellationToken);
    }

    /// <summary>
    /// One enumeration. Hand-written rather than an async iterator: a frame already buffered is returned synchronously
    /// as a plain <see cref="ValueTask{TResult}"/>, with no state machine per frame; only a pull of the next chunk awaits.
    /// </summary>
    private sealed class Enumerator(IAsyncEnumerator<ReadOnlyMemory<byte>> chunks, FrameDriver<TFrame> driver, bool inputIsOwned, CancellationToken cancellationToken)
        : IAsyncEnumerator<TFrame>
    {
        private FrameDriver<TFrame> _driver = driver;
        private ReadBuffer _buffer;
        private bool _sourceEnded;
        private bool _finished;
        private TFrame _current = default!;

        public TFrame Current => _current;

        public ValueTask<bool> MoveNextAsync()
        {
            try
            {
                if (!_finished && !_sourceEnded && _driver.TryNext(ref _buffer, out var frame))
                {
                    _current = frame;
                    return new ValueTask<bool>(true);
                }
            }
            catch (Exception error)
            {
                _finished = true;
                return ValueTask.FromException<bool>(error);
            }

            return _finished ? new ValueTask<bool>(false) : PullAsync();
        }

        public ValueTask DisposeAsync()
        {
            _finished = true;
            _buffer.Clear();
            return chunks.DisposeAsync();
        }

        /// <summary>Pulls chunks until one completes a frame, or decodes the end once the source ended.</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> PullAsync()
        {
            try
            {
                while (!_sourceEnded)
                {
                    _buffer.TrimIfEmpty(); // do not keep the source's array alive while waiting for the next chunk
                    bool more;
                    try
                    {
                        more = await chunks.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (Exception error) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw _driver.Fail(ref _buffer, error);
                    }

                    if (!more)
                    {
                        _sourceEnded = true;
                        break;
                    }

                    if (inputIsOwned)
                    {
                        _buffer.AppendOwned(chunks.Current);
                    }
                    else
                    {
                        _buffer.Append(chunks.Current.Span);
                    }

                    if (_driver.TryNext(ref _buffer, out var frame))
                    {
                        _current = frame;
                        return true;
                    }
                }

                if (_driver.TryNextAtEnd(ref _buffer, out var last))
                {
                    _current = last;
                    return true;
                }

                _finished = true;
                return false;
            }
            catch
            {
                _finished = true;
                throw;
            }
        }
    }
}
