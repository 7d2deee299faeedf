using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace RxStreams.Internal;

/// <summary>
/// <c>DecodeText</c> pull style, with the push operator's rules (<c>TextDecodeOperator</c>): one string per chunk that
/// completes a character, the bytes of an unfinished character kept for the next chunk, the encoding's fallback at the
/// end, and at an error of the source the unfinished character dropped and the error thrown as is.
/// </summary>
internal static class AsyncTextDecoder
{
    public static async IAsyncEnumerable<string> DecodeAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> source, Encoding encoding, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var decoder = encoding.GetDecoder();
        await foreach (var chunk in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var text = Decode(decoder, chunk.Span, flush: false);
            if (text.Length > 0)
            {
                yield return text;
            }
        }

        var last = Decode(decoder, [], flush: true);
        if (last.Length > 0)
        {
            yield return last;
        }
    }

    private static string Decode(Decoder decoder, ReadOnlySpan<byte> bytes, bool flush)
    {
        char[]? rented = null;
        try
        {
            int count = decoder.GetCharCount(bytes, flush);
            Span<char> chars = count <= 256 ? stackalloc char[count] : (rented = ArrayPool<char>.Shared.Rent(count));
            int written = decoder.GetChars(bytes, chars, flush); // also when count is 0: the bytes of an unfinished character are kept
            return written == 0 ? string.Empty : new string(chars[..written]);
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
