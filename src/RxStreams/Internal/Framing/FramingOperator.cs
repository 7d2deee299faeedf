namespace RxStreams.Internal;

/// <summary>
/// Runs a decoder over any <c>IObservable&lt;ReadOnlyMemory&lt;byte&gt;&gt;</c>: a socket reader, a file, a
/// <c>TestScheduler</c> hot observable.
/// </summary>
/// <remarks>
/// <para>State table of a sink:</para>
/// <code>
/// event          | action
/// OnNext(chunk)  | append (adopt owned memory, copy anything else); drain the driver: emit every complete frame
/// OnCompleted    | the driver's end: emit the last frame(s) or fail with IncompleteReadException; then OnCompleted
/// OnError(e)     | the driver's failure: OnError(e) when nothing is buffered, else OnError(IncompleteReadException(partial, expected, e))
/// decoder throws | OnError(that exception): LimitOverrunException, IncompleteReadException, InvalidDataException
/// Dispose        | unsubscribe upstream, drop the buffer
/// </code>
/// <para>Decoding, skipping, metrics and the frame timeout are <see cref="FrameDriver{TFrame}"/>'s, shared with the pull methods.</para>
/// <para>Exceptions thrown by the downstream observer propagate to the upstream producer, as everywhere in Rx.</para>
/// </remarks>
internal sealed class FramingOperator<TFrame>(IObservable<ReadOnlyMemory<byte>> source, Func<FrameDecoder<TFrame>> decoderFactory, bool emitsOwnedMemory)
    : IObservable<TFrame>, IOwnedMemorySource
{
    private readonly bool _inputIsOwned = source is IOwnedMemorySource { EmitsOwnedMemory: true };

    // The frame timeout of the connection the bytes come from, if the source carries one (a connection's reader).
    private readonly ConnectionWatchdog? _frameWatchdog = (source as IFrameTimeoutSource)?.FrameWatchdog;

    /// <summary>Whether the frames are slices of owned memory (true for the built-in byte framers).</summary>
    public bool EmitsOwnedMemory => emitsOwnedMemory;

    public IDisposable Subscribe(IObserver<TFrame> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        // Our own byte framers emit slices of their input and keep no other reference, so frames that go to a copier (a
        // writer) let a reader recycle its arrays; a custom decoder might keep its input.
        var copier = emitsOwnedMemory ? ChunkLease.CopierOf(observer) : null;
        var driver = new FrameDriver<TFrame>(decoderFactory(), _frameWatchdog);
        var sink = new FrameSink(observer, driver, _inputIsOwned, copier);
        sink.SetUpstream(source.Subscribe(sink));
        return sink;
    }

    // The driver carries the frame timeout of the source's connection, if it has one.
    // copier: the downstream, when it copies every frame (then this sink copies its chunks too, as far as they go down).
    private sealed class FrameSink(IObserver<TFrame> downstream, FrameDriver<TFrame> driver, bool inputIsOwned, IChunkConsumer? copier)
        : Sink<TFrame>(downstream), IObserver<ReadOnlyMemory<byte>>, IChunkConsumer
    {
        private FrameDriver<TFrame> _driver = driver;
        private ReadBuffer _buffer;
        private bool _done;

        public bool CopiesChunks => copier is not null;

        // A copier's chunks are framed by LentChunkFraming, which keeps nothing of them, unless the sink stopped mid-chunk;
        // the downstream may hold a frame.
        public bool HoldsChunk => copier is null || _done || IsDisposed || copier.HoldsChunk;

        private bool Stopped => _done || IsDisposed;

        public void OnNext(ReadOnlyMemory<byte> value)
        {
            if (_done)
            {
                return;
            }

            var forward = new Forward(this);
            if (copier is not null)
            {
                // The chunk may be lent (a reader reuses its array): decoded in place, a cut frame copied.
                if (LentChunkFraming.Drain(_driver, ref _buffer, value, forward, copier) is { } lentError)
                {
                    Fail(lentError);
                }

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

            if (_driver.Drain(ref _buffer, ref forward) is { } error)
            {
                Fail(error);
            }
            else if (!Stopped)
            {
                _buffer.TrimIfEmpty(); // do not keep the upstream's array alive between chunks
            }
        }

        public void OnError(Exception error)
        {
            if (_done)
            {
                return;
            }

            _done = true;
            // The bytes of an unfinished frame travel with the error (docs/contract.md, guarantee 10 "Clear errors, nothing lost").
            ForwardOnError(_driver.Fail(ref _buffer, error));
        }

        public void OnCompleted()
        {
            if (_done)
            {
                return;
            }

            while (true)
            {
                TFrame frame;
                try
                {
                    if (!_driver.TryNextAtEnd(ref _buffer, out frame))
                    {
                        break;
                    }
                }
                catch (Exception error)
                {
                    Fail(error);
                    return;
                }

                ForwardOnNext(frame);
                if (IsDisposed)
                {
                    return;
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

        /// <summary>Emits the driver's frames downstream; stops when the sink finished or was disposed meanwhile.</summary>
        private readonly struct Forward(FrameSink sink) : IFrameConsumer<TFrame>
        {
            public bool OnFrame(TFrame frame)
            {
                sink.ForwardOnNext(frame);
                return !sink.Stopped;
            }
        }
    }
}
