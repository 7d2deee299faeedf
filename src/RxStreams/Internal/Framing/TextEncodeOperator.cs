using System.Text;
using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>
/// Encodes strings to byte chunks with one <see cref="Encoder"/> per subscription, so a surrogate pair split across two
/// strings is encoded as one character. Each chunk is a fresh array: owned memory that framing operators adopt as is.
/// </summary>
/// <remarks>
/// <code>
/// event          | action
/// OnNext(text)   | encode with flush: false (a trailing high surrogate waits in the encoder); emit the bytes unless empty
/// OnCompleted    | encode nothing with flush: true (a lone surrogate goes to the fallback); emit unless empty; OnCompleted
/// OnError(e)     | OnError(e)
/// encoder throws | OnError(that exception), e.g. EncoderFallbackException with a throwing fallback
/// Dispose        | unsubscribe upstream
/// </code>
/// </remarks>
internal sealed class TextEncodeOperator(IObservable<string> source, Encoding encoding) : IObservable<ReadOnlyMemory<byte>>, IOwnedMemorySource
{
    public bool EmitsOwnedMemory => true;

    public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var sink = new EncodeSink(observer, encoding.GetEncoder());
        sink.SetUpstream(source.Subscribe(sink));
        return sink;
    }

    private sealed class EncodeSink(IObserver<ReadOnlyMemory<byte>> downstream, Encoder encoder) : Sink<ReadOnlyMemory<byte>>(downstream), IObserver<string>
    {
        private bool _done;

        public void OnNext(string value)
        {
            if (!_done && TryEncode(value.AsSpan(), flush: false, out var bytes) && bytes.Length > 0)
            {
                ForwardOnNext(bytes);
            }
        }

        public void OnError(Exception error)
        {
            if (!_done)
            {
                _done = true;
                ForwardOnError(error);
            }
        }

        public void OnCompleted()
        {
            if (_done || !TryEncode([], flush: true, out var bytes))
            {
                return;
            }

            _done = true;
            if (bytes.Length > 0)
            {
                ForwardOnNext(bytes);
            }

            ForwardOnCompleted();
        }

        private bool TryEncode(ReadOnlySpan<char> chars, bool flush, out byte[] bytes)
        {
            try
            {
                int count = encoder.GetByteCount(chars, flush);
                bytes = count == 0 ? [] : new byte[count];
                int written = encoder.GetBytes(chars, bytes, flush); // also when count is 0: a trailing high surrogate is kept
                if (written != count)
                {
                    bytes = bytes.AsSpan(0, written).ToArray();
                }

                return true;
            }
            catch (Exception error)
            {
                _done = true;
                bytes = [];
                ForwardOnError(error);
                return false;
            }
        }
    }
}
