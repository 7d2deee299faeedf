using RxStreams.Framing;

namespace RxStreams.Internal;

/// <summary>
/// Runs a decoder over any <c>IObservable&lt;ReadOnlyMemory&lt;byte&gt;&gt;</c>: a socket reader, a file, a
/// <c>TestScheduler</c> hot observable.
/// </summary>
/// <remarks>
/// <para>State table of a sink:</para>
/// <code>
/// event          | action
/// OnNext(chunk)  | append (adopt owned memory, copy anything else); decode and emit every complete frame
/// OnCompleted    | decode at end: emit the last frame(s) or fail with IncompleteReadException; then OnCompleted
/// OnError(e)     | OnError(e) when nothing is buffered, else OnError(IncompleteReadException(partial, expected, e))
/// decoder throws | OnError(that exception): LimitOverrunException, IncompleteReadException, InvalidDataException
/// Dispose        | unsubscribe upstream, drop the buffer
/// </code>
/// <para>Exceptions thrown by the downstream observer propagate to the upstream producer, as everywhere in Rx.</para>
/// </remarks>
internal sealed class FramingOperator<TFrame>(IObservable<ReadOnlyMemory<byte>> source, Func<IFrameDecoder<TFrame>> decoderFactory, bool emitsOwnedMemory)
    : IObservable<TFrame>, IOwnedMemorySource
{
    private readonly bool _inputIsOwned = source is IOwnedMemorySource { EmitsOwnedMemory: true };

    /// <summary>Whether the frames are slices of owned memory (true for the built-in byte framers).</summary>
    public bool EmitsOwnedMemory => emitsOwnedMemory;

    public IDisposable Subscribe(IObserver<TFrame> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        // Our own byte framers emit slices of their input and keep no other reference, so frames that go to a copier (a
        // writer) let a reader recycle its arrays; a custom decoder might keep its input.
        var copier = emitsOwnedMemory ? ChunkLease.CopierOf(observer) : null;
        var sink = new FrameSink(observer, decoderFactory(), _inputIsOwned, (source as ConnectionReader)?.Watchdog, copier);
        sink.SetUpstream(source.Subscribe(sink));
        return sink;
    }

    // watchdog: the frame timeout of the connection whose reader is the source, if it has one.
    // copier: the downstream, when it copies every frame (then this sink copies its chunks too, as far as they go down).
    private sealed class FrameSink(IObserver<TFrame> downstream, IFrameDecoder<TFrame> decoder, bool inputIsOwned, ConnectionWatchdog? watchdog, IChunkConsumer? copier)
        : Sink<TFrame>(downstream), IObserver<ReadOnlyMemory<byte>>, IChunkConsumer
    {
        private ReadBuffer _buffer;
        private bool _done;

        public bool CopiesChunks => copier is not null;

        // A partial frame, or a sink that stopped mid-chunk, may still reference the chunk's array; so may the downstream.
        public bool HoldsChunk => copier is null || _done || IsDisposed || _buffer.HasArray || copier.HoldsChunk;

        public void OnNext(ReadOnlyMemory<byte> value)
        {
            if (_done)
            {
                return;
            }

            if (inputIsOwned)
            {
                _buffer.AppendOwned(value);
            }
            else
            {
                _buffer.Append(value.Span);
            }

            bool goOn = EmitCompleteFrames(out int frames);
            Metrics.FramesDecoded(frames); // once per chunk, not per frame
            if (!goOn)
            {
                return;
            }

            if (_buffer.Length > 0)
            {
                watchdog?.BeginFrame(); // this chunk ended inside a frame: its clock runs until the frame is complete
            }

            _buffer.TrimIfEmpty(); // do not keep the upstream's array alive between chunks
        }

        /// <summary>Decodes and emits every complete frame buffered; false when the sink failed or was disposed meanwhile.</summary>
        private bool EmitCompleteFrames(out int frames)
        {
            frames = 0;
            while (_buffer.Length > 0)
            {
                TFrame frame;
                try
                {
                    if (!decoder.TryDecode(_buffer.Expose(), out frame, out int consumed))
                    {
                        break;
                    }

                    _buffer.Consume(FrameChecks.Consumed(decoder, consumed, _buffer.Length, atEnd: false));
                }
                catch (Exception error)
                {
                    Fail(error);
                    return false;
                }

                frames++;
                watchdog?.EndFrame();
                ForwardOnNext(frame);
                if (_done || IsDisposed)
                {
                    return false;
                }
            }

            return true;
        }

        public void OnError(Exception error)
        {
            if (_done)
            {
                return;
            }

            _done = true;
            var partial = _buffer.Expose();
            _buffer.Clear();

            // The bytes of an unfinished frame travel with the error (contract 10: nothing is lost).
            ForwardOnError(partial.IsEmpty ? error : new IncompleteReadException(partial, ExpectedLength(decoder), error));
        }

        private static long? ExpectedLength(IFrameDecoder<TFrame> decoder) =>
            decoder is Decoders.IExpectsFrameLength expects ? expects.ExpectedFrameLength : null;

        public void OnCompleted()
        {
            if (_done)
            {
                return;
            }

            while (true)
            {
                TFrame frame;
                int consumed;
                try
                {
                    if (!decoder.TryDecodeAtEnd(_buffer.Expose(), out frame, out consumed))
                    {
                        break;
                    }

                    _buffer.Consume(FrameChecks.Consumed(decoder, consumed, _buffer.Length, atEnd: true));
                }
                catch (Exception error)
                {
                    Fail(error);
                    return;
                }

                Metrics.FramesDecoded(1);
                ForwardOnNext(frame);
                if (IsDisposed)
                {
                    return;
                }

                if (consumed == 0)
                {
                    break; // a last frame that consumed nothing (an empty "rest") is the last one: asking again would loop
                }
            }

            _done = true;
            ForwardOnCompleted();
        }

        private void Fail(Exception error)
        {
            _done = true;
            _buffer.Clear();
            ForwardOnError(error);
        }
    }
}
