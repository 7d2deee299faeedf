using System.Buffers;
using System.Text;

namespace RxStreams.Internal;

/// <summary>
/// <c>DecodeText</c> pull style, with the push operator's rules (<c>TextDecodeOperator</c>): one string per chunk that
/// completes a character, the bytes of an unfinished character kept for the next chunk, the encoding's fallback at the
/// end, and at an error of the source the unfinished character dropped and the error thrown as is.
/// </summary>
/// <remarks>
/// Composed from async LINQ rather than a loop of our own: Ix's <c>Defer</c> gives each enumeration its own
/// <see cref="Decoder"/>, .NET's <c>Select</c> decodes each chunk, and Ix's <c>Return</c> after <c>Concat</c> flushes at a
/// clean end only (an exception of the source skips it, so an unfinished character is dropped, as in push).
/// </remarks>
internal static class AsyncTextDecoder
{
    public static IAsyncEnumerable<string> DecodeAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> source, Encoding encoding) =>
        AsyncEnumerableEx.Defer(() =>
        {
            var decoder = encoding.GetDecoder();
            return source
                .Select(chunk => Decode(decoder, chunk.Span, flush: false))
                .Concat(AsyncEnumerableEx.Defer(() => AsyncEnumerableEx.Return(Decode(decoder, [], flush: true))))
                .Where(static text => text.Length > 0);
        });

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
