using System.Buffers;
using System.Text;
using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>Decodes byte chunks to text with one <see cref="Decoder"/> per subscription, so a character split across chunks survives.</summary>
/// <remarks>
/// <code>
/// event          | action
/// OnNext(chunk)  | decode with flush: false (an unfinished character stays in the decoder); emit the text unless empty
/// OnCompleted    | decode nothing with flush: true (an unfinished character goes to the fallback); emit unless empty; OnCompleted
/// OnError(e)     | OnError(e) (an unfinished character is dropped)
/// decoder throws | OnError(that exception), e.g. DecoderFallbackException with a throwing fallback
/// Dispose        | unsubscribe upstream
/// </code>
/// </remarks>
internal sealed class TextDecodeOperator(IObservable<ReadOnlyMemory<byte>> source, Encoding encoding) : IObservable<string>
{
    public IDisposable Subscribe(IObserver<string> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var sink = new DecodeSink(observer, encoding.GetDecoder());
        sink.SetUpstream(source.Subscribe(sink));
        return sink;
    }

    private sealed class DecodeSink(IObserver<string> downstream, Decoder decoder) : Sink<string>(downstream), IObserver<ReadOnlyMemory<byte>>
    {
        private bool _done;

        public void OnNext(ReadOnlyMemory<byte> value)
        {
            if (!_done && TryDecode(value.Span, flush: false, out var text) && text.Length > 0)
            {
                ForwardOnNext(text);
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
            if (_done || !TryDecode([], flush: true, out var text))
            {
                return;
            }

            _done = true;
            if (text.Length > 0)
            {
                ForwardOnNext(text);
            }

            ForwardOnCompleted();
        }

        private bool TryDecode(ReadOnlySpan<byte> bytes, bool flush, out string text)
        {
            char[]? rented = null;
            try
            {
                int count = decoder.GetCharCount(bytes, flush);
                Span<char> chars = count <= 256 ? stackalloc char[count] : (rented = ArrayPool<char>.Shared.Rent(count));
                int written = decoder.GetChars(bytes, chars, flush); // also when count is 0: the bytes of an unfinished character are kept
                text = written == 0 ? string.Empty : new string(chars[..written]);
                return true;
            }
            catch (Exception error)
            {
                _done = true;
                text = string.Empty;
                ForwardOnError(error);
                return false;
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<char>.Shared.Return(rented);
                }
            }
        }
    }
}
