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
/// A connection's chunks (<see cref="ConnectionChunks"/>) are not copied at all: the operator decodes in the reader's
/// own buffer (<c>ReadFramesCoreAsync</c>), reading only when the consumer asks, with the connection's frame timeout.
/// </para>
/// </remarks>
internal sealed class AsyncFramingOperator<TFrame>(IAsyncEnumerable<ReadOnlyMemory<byte>> source, Func<FrameDecoder<TFrame>> decoderFactory, bool emitsOwnedMemory)
    : IAsyncEnumerable<TFrame>, IOwnedMemorySource
{
    /// <summary>Whether the frames are slices of owned memory (true for the built-in byte framers).</summary>
    public bool EmitsOwnedMemory => emitsOwnedMemory;

    public IAsyncEnumerator<TFrame> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (source is ConnectionChunks chunks)
        {
            return chunks.Reader.ReadFramesCoreAsync(decoderFactory(), chunks.CancellationToken).GetAsyncEnumerator(cancellationToken);
        }

        bool inputIsOwned = source is IOwnedMemorySource { EmitsOwnedMemory: true };
        return FrameAsync(source, decoderFactory(), inputIsOwned, cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private static async IAsyncEnumerable<TFrame> FrameAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> source, FrameDecoder<TFrame> decoder, bool inputIsOwned, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var driver = new FrameDriver<TFrame>(decoder, watchdog: null);
        var buffer = default(ReadBuffer);
        var chunks = source.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await chunks.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception error) when (!cancellationToken.IsCancellationRequested)
                {
                    throw driver.Fail(ref buffer, error);
                }

                if (!more)
                {
                    break;
                }

                var chunk = chunks.Current;
                if (inputIsOwned)
                {
                    buffer.AppendOwned(chunk);
                }
                else
                {
                    buffer.Append(chunk.Span);
                }

                while (driver.TryNext(ref buffer, out var frame))
                {
                    yield return frame;
                }

                buffer.TrimIfEmpty(); // do not keep the source's array alive between chunks
            }

            while (driver.TryNextAtEnd(ref buffer, out var last))
            {
                yield return last;
            }
        }
        finally
        {
            buffer.Clear();
            await chunks.DisposeAsync().ConfigureAwait(false);
        }
    }
}
