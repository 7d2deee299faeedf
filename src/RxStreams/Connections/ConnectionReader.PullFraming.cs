using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
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
    /// <para>
    /// A built-in decoder decodes ahead: up to <see cref="AheadCapacity"/> buffered frames in one loop (its run of plain
    /// frames, <see cref="FrameDecoder{TFrame}.DecodeRun"/>, then the driver's one-frame path for anything else), handed
    /// out one per <c>MoveNextAsync</c> with nothing but an array read, so a frame costs what push costs plus the
    /// enumerator protocol. A decoder error found ahead waits behind the frames before it, as push delivers them.
    /// Frames decoded but never taken are put back into the reader's buffer when the enumeration ends early, so the next
    /// consumer reads exactly what this one did not.
    /// </para>
    /// </remarks>
    private sealed class FrameEnumerator<TFrame> : IAsyncEnumerator<TFrame>
    {
        /// <summary>
        /// Frames decoded per loop: a batch boundary costs a call out of the inlined <see cref="MoveNextAsync"/> and a
        /// driver loop, and 128 measured 1-2 ns a frame faster than 32 on 16-byte lines.
        /// </summary>
        private const int AheadCapacity = 128;

        private readonly ConnectionReader _reader;
        private readonly bool _decodesAhead; // the decoder's frames depend on the bytes alone (built-in decoders)
        private TFrame[]? _ahead; // frames decoded before they were asked for; rented while there are any, not while waiting
        private FrameSlice[]? _aheadSlices; // the same for byte frames, as slices of _aheadArray: no GC write barrier per frame
        private byte[]? _aheadArray; // the read buffer's array, which every slice of the batch lies in
        private int[]? _bytesLeftAfter; // bytes buffered after each of them, to put back those never taken
        private int _aheadIndex;
        private int _aheadCount;
        private int _bytesLeftBefore; // bytes buffered before the first of them
        private ExceptionDispatchInfo? _aheadError; // the decoder's error behind them
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
            _decodesAhead = decoder.DecodesAhead;

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

        public TFrame Current
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get
            {
                int index = _aheadIndex - 1;
                if (index < 0)
                {
                    return _current;
                }

                // Read in place: byte frames are made from their slice here, other frames are stored as they are.
                if (typeof(TFrame) == typeof(ReadOnlyMemory<byte>))
                {
                    var slice = _aheadSlices![index];
                    var frame = new ReadOnlyMemory<byte>(_aheadArray, slice.Start, slice.Length);
                    return Unsafe.As<ReadOnlyMemory<byte>, TFrame>(ref frame);
                }

                return _ahead![index];
            }
        }

        // Small enough to be inlined where the consumer's call is devirtualized: a frame decoded ahead costs an array read.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ValueTask<bool> MoveNextAsync()
        {
            int index = _aheadIndex;
            if (index < _aheadCount)
            {
                _aheadIndex = index + 1;
                return new ValueTask<bool>(true);
            }

            return MoveNextUnbufferedAsync();
        }

        private ValueTask<bool> MoveNextUnbufferedAsync()
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
                        if (TryDecode(ref reader._buffer))
                        {
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
                    if (TryDecode(ref reader._buffer))
                    {
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

                    ReturnAheadArrays(); // every frame decoded ahead was handed out: a waiting consumer holds none

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

        /// <summary>
        /// The next frame as <see cref="Current"/>: decoded one at a time, or the first of a new batch decoded ahead
        /// (called only once the last batch was handed out).
        /// </summary>
        /// <returns><see langword="false"/> when the decoder needs more bytes.</returns>
        private bool TryDecode(ref ReadBuffer buffer)
        {
            if (!_decodesAhead)
            {
                return _driver.TryNext(ref buffer, out _current);
            }

            if (_aheadError is { } pending)
            {
                _aheadError = null;
                pending.Throw();
            }

            _bytesLeftAfter ??= ArrayPool<int>.Shared.Rent(AheadCapacity);
            _bytesLeftBefore = buffer.Length;
            Exception? error;
            if (typeof(TFrame) == typeof(ReadOnlyMemory<byte>))
            {
                _aheadSlices ??= ArrayPool<FrameSlice>.Shared.Rent(AheadCapacity);
                _aheadCount = _driver.DecodeSlicesAhead(ref buffer, _aheadSlices.AsSpan(0, AheadCapacity), _bytesLeftAfter.AsSpan(0, AheadCapacity), out _aheadArray, out error);
            }
            else
            {
                _ahead ??= ArrayPool<TFrame>.Shared.Rent(AheadCapacity);
                _aheadCount = _driver.DecodeAhead(ref buffer, _ahead.AsSpan(0, AheadCapacity), _bytesLeftAfter.AsSpan(0, AheadCapacity), out error);
            }

            _aheadIndex = 0;
            if (error is not null)
            {
                _aheadError = ExceptionDispatchInfo.Capture(error);
            }

            if (_aheadCount == 0)
            {
                _aheadError?.Throw();
                return false;
            }

            _aheadIndex = 1; // Current is the batch's first frame
            return true;
        }

        /// <summary>Gives the batch arrays back to the pool (frames cleared, so the pool keeps no slice alive).</summary>
        private void ReturnAheadArrays()
        {
            _aheadIndex = _aheadCount = 0;
            _aheadArray = null;
            if (_ahead is { } ahead)
            {
                _ahead = null;
                ArrayPool<TFrame>.Shared.Return(ahead, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<TFrame>());
            }

            if (_aheadSlices is { } slices)
            {
                _aheadSlices = null;
                ArrayPool<FrameSlice>.Shared.Return(slices);
            }

            if (_bytesLeftAfter is { } bytesLeftAfter)
            {
                _bytesLeftAfter = null;
                ArrayPool<int>.Shared.Return(bytesLeftAfter);
            }
        }

        /// <summary>No more frames: puts back frames decoded ahead but never taken, and gives the reader back (once).</summary>
        private void Finish()
        {
            _finished = true;
            if (_aheadIndex < _aheadCount)
            {
                // Nothing was received since that batch (receives wait until it is handed out), so its bytes are in place.
                int bytesLeftAtLastTaken = _aheadIndex == 0 ? _bytesLeftBefore : _bytesLeftAfter![_aheadIndex - 1];
                _reader._buffer.Unconsume(bytesLeftAtLastTaken - _reader._buffer.Length);
            }

            ReturnAheadArrays();
            _aheadIndex = _aheadCount = 0;
            _aheadError = null;
            if (_acquired)
            {
                _acquired = false;
                _reader.Release();
            }
        }
    }
}
