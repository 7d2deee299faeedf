using System.Runtime.CompilerServices;
using RxStreams.Decoders;
using RxStreams.Framing;
using RxStreams.Internal;

namespace RxStreams;

// The pull methods: asyncio's read, readline, readexactly, readuntil, async iteration. The type's docs are in
// ConnectionReader.cs.
public sealed partial class ConnectionReader
{
    /// <summary>
    /// asyncio's <c>read(n)</c>. With <paramref name="n"/> &gt; 0: waits until at least one byte is available (or the end),
    /// then returns at most <paramref name="n"/> of the bytes available. With 0: raises the stored error if the input has
    /// failed (asyncio checks it first; the buffered bytes stay readable), else returns empty at once. With a negative
    /// value (the default, -1): reads to the end of the input and returns everything. Empty means end of input.
    /// </summary>
    /// <param name="n">How many bytes at most; negative for all of them.</param>
    /// <param name="cancellationToken">Cancels the wait; nothing is consumed then.</param>
    /// <returns>The bytes, owned by the caller.</returns>
    /// <exception cref="InvalidOperationException">Another consumer is active.</exception>
    /// <exception cref="IOException">The input failed and every byte before the failure has been read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(int n = -1, CancellationToken cancellationToken = default)
    {
        await AcquireAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (n == 0)
            {
                // asyncio checks the stored exception before n == 0; nothing is consumed, so buffered bytes stay readable.
                return Exception is { } stored ? throw stored : ReadOnlyMemory<byte>.Empty;
            }

            if (n < 0)
            {
                // Nothing is taken from the buffer until the end, so an error part-way loses nothing (asyncio loses it).
                // The whole input is its frame: the frame timeout runs while it waits with part of it.
                do
                {
                    if (_buffer.Length > 0)
                    {
                        Watchdog?.BeginFrame();
                    }
                }
                while (await FillAsync(cancellationToken).ConfigureAwait(false));

                return ThrowIfFailedAndEmpty(Take(_buffer.Length));
            }

            if (_buffer.Length == 0)
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }

            return ThrowIfFailedAndEmpty(Take(Math.Min(n, _buffer.Length)));
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// asyncio's <c>readline()</c>: reads one <c>\n</c>-terminated line, <c>\n</c> included. At the end of the input
    /// returns the unterminated rest, then empty.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait; nothing is consumed then.</param>
    /// <returns>The line; empty at the end of the input.</returns>
    /// <exception cref="LimitOverrunException">
    /// The line is longer than <see cref="Limit"/>. As in asyncio (which raises <c>ValueError</c> here), the buffer is
    /// first cleared up to and including the line's <c>\n</c> if it has arrived, else entirely; any rest of the line
    /// that arrives later comes back from the next call as a line.
    /// </exception>
    /// <exception cref="IncompleteReadException">The input failed inside a line; <see cref="IncompleteReadException.Partial"/> has its bytes.</exception>
    /// <exception cref="InvalidOperationException">Another consumer is active.</exception>
    /// <exception cref="IOException">The input failed and every byte before the failure has been read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<ReadOnlyMemory<byte>> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        // asyncio's readline: the rest at the end is the last line (b'' when nothing is left), and an over-long line is
        // dropped through its '\n' before the overrun is raised, so the next call starts at the next line.
        var decoder = _lineDecoder ??= SeparatorDecoder.ForLines(_limit, SeparatorDecoder.AtEnd.EmitPartialOrEmpty, SeparatorDecoder.OnOverrun.Resync);
        return ReadFrameAsync(decoder, cancellationToken);
    }

    /// <summary>asyncio's <c>readuntil()</c> with its default separator, <c>\n</c>.</summary>
    /// <param name="cancellationToken">Cancels the wait; nothing is consumed then.</param>
    /// <returns>The bytes up to and including the separator.</returns>
    /// <inheritdoc cref="ReadUntilAsync(ReadOnlyMemory{byte}, CancellationToken)" path="/exception"/>
    public ValueTask<ReadOnlyMemory<byte>> ReadUntilAsync(CancellationToken cancellationToken = default) =>
        ReadUntilCoreAsync([SeparatorDecoder.NewLine], cancellationToken);

    /// <summary>
    /// asyncio's <c>readuntil(separator)</c>: reads up to and including <paramref name="separator"/>.
    /// </summary>
    /// <param name="separator">The separator; at least one byte. It is copied.</param>
    /// <param name="cancellationToken">Cancels the wait; nothing is consumed then.</param>
    /// <returns>The bytes up to and including the separator.</returns>
    /// <exception cref="ArgumentException">The separator is empty.</exception>
    /// <exception cref="LimitOverrunException">
    /// The frame is longer than <see cref="Limit"/>. The data stays in the buffer; <see cref="LimitOverrunException.Consumed"/>
    /// says how much can be skipped with <c>ReadAsync(consumed)</c>, as in asyncio.
    /// </exception>
    /// <exception cref="IncompleteReadException">
    /// The input ended (or failed) before the separator; the buffer is cleared and its bytes are in
    /// <see cref="IncompleteReadException.Partial"/> (<see cref="IncompleteReadException.Expected"/> is <see langword="null"/>).
    /// </exception>
    /// <exception cref="InvalidOperationException">Another consumer is active.</exception>
    /// <exception cref="IOException">The input failed and every byte before the failure has been read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<ReadOnlyMemory<byte>> ReadUntilAsync(ReadOnlyMemory<byte> separator, CancellationToken cancellationToken = default) =>
        ReadUntilCoreAsync(Separators.Normalize([separator], nameof(separator)), cancellationToken);

    /// <summary>
    /// Python 3.13's <c>readuntil((sep1, sep2, ...))</c>: reads up to and including whichever separator ends first; on a
    /// tie, the shortest.
    /// </summary>
    /// <param name="separators">One or more separators, each at least one byte. They are copied.</param>
    /// <param name="cancellationToken">Cancels the wait; nothing is consumed then.</param>
    /// <returns>The bytes up to and including the separator that matched.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="separators"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No separator, or an empty one (asyncio's two <c>ValueError</c>s).</exception>
    /// <inheritdoc cref="ReadUntilAsync(ReadOnlyMemory{byte}, CancellationToken)" path="/exception"/>
    public ValueTask<ReadOnlyMemory<byte>> ReadUntilAsync(IEnumerable<ReadOnlyMemory<byte>> separators, CancellationToken cancellationToken = default) =>
        ReadUntilCoreAsync(Separators.Normalize(separators, nameof(separators)), cancellationToken);

    /// <summary>asyncio's <c>readexactly(n)</c>: reads exactly <paramref name="n"/> bytes. The limit does not apply.</summary>
    /// <param name="n">How many bytes; 0 returns empty at once, even at the end of the input (but raises a stored error, as asyncio does).</param>
    /// <param name="cancellationToken">Cancels the wait; nothing is consumed then.</param>
    /// <returns>Exactly <paramref name="n"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative (asyncio: 'readexactly size can not be less than zero').</exception>
    /// <exception cref="IncompleteReadException">
    /// The input ended (or failed) first: the buffer is cleared, its bytes are in <see cref="IncompleteReadException.Partial"/>
    /// and <see cref="IncompleteReadException.Expected"/> is <paramref name="n"/>.
    /// </exception>
    /// <exception cref="InvalidOperationException">Another consumer is active.</exception>
    /// <exception cref="IOException">The input failed and every byte before the failure has been read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<ReadOnlyMemory<byte>> ReadExactlyAsync(int n, CancellationToken cancellationToken = default)
    {
        if (n < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "readexactly size can not be less than zero.");
        }

        if (n == 0)
        {
            return ReadAsync(0, cancellationToken);
        }

        return ReadFrameAsync(new FixedLengthDecoder(n, allowShortLast: false), cancellationToken);
    }

    /// <summary>
    /// <c>async for line in reader</c>: <c>await foreach (var line in reader)</c> reads lines with
    /// <see cref="ReadLineAsync"/> until the end of the input. (The reader exposes the pattern rather than
    /// <see cref="IAsyncEnumerable{T}"/> so that Rx and async LINQ operators never clash on it; use
    /// <see cref="ReadLinesAsync"/> for an <see cref="IAsyncEnumerable{T}"/>.)
    /// </summary>
    /// <param name="cancellationToken">Cancels the iteration.</param>
    /// <returns>An enumerator of lines, each with its <c>\n</c> (the last may lack it).</returns>
    public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new LineEnumerator(this, default, cancellationToken);

    /// <summary>
    /// The received chunks as an <see cref="IAsyncEnumerable{T}"/>: the pull counterpart of subscribing, where the next
    /// chunk is read only when the consumer asks for it. Ends at the end of the input.
    /// </summary>
    /// <param name="cancellationToken">Cancels the iteration; nothing is consumed by a cancelled read.</param>
    /// <returns>The chunks, each owned by the consumer.</returns>
    /// <remarks>
    /// The pull framing operators (<see cref="AsyncFramingExtensions"/>) compose with it without losing that: <c>reader.ReadChunksAsync().Lines()</c>
    /// decodes in the reader's own buffer, reads only when the consumer asks for the next frame, and keeps the
    /// connection's frame timeout.
    /// </remarks>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksAsync(CancellationToken cancellationToken = default) =>
        new ConnectionChunks(this, cancellationToken);

    /// <summary>The iterator behind <see cref="ReadChunksAsync"/>.</summary>
    internal async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var chunk = await ReadAsync(ReadBuffer.MaxReceiveSize, cancellationToken).ConfigureAwait(false);
            if (chunk.IsEmpty)
            {
                yield break;
            }

            yield return chunk;
        }
    }

    /// <summary>
    /// Decodes the input with any decoder, pull style: the <see cref="IAsyncEnumerable{T}"/> counterpart of
    /// <see cref="FramingExtensions.Decode{TFrame}"/>, under the same rules (a frame cut short by the end of the input
    /// raises <see cref="IncompleteReadException"/>; one cut short by an error carries its bytes in
    /// <see cref="IncompleteReadException.Partial"/>). The next bytes are read only when the consumer asks for the next
    /// frame, and the reader stays taken (one consumer) until the enumeration ends.
    /// </summary>
    /// <typeparam name="TFrame">What a frame decodes to.</typeparam>
    /// <param name="decoder">A fresh decoder for this stream (decoders keep per-stream state).</param>
    /// <param name="cancellationToken">Cancels the enumeration; a cancelled wait consumes nothing.</param>
    /// <returns>The frames.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="decoder"/> is <see langword="null"/>.</exception>
    public IAsyncEnumerable<TFrame> ReadFramesAsync<TFrame>(IFrameDecoder<TFrame> decoder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        return ReadFramesCoreAsync(BuiltInFrameDecoder<TFrame>.Unwrap(decoder), cancellationToken);
    }

    /// <summary><see cref="ReadFramesAsync"/> with any of the library's decoders: fill, then drain the driver.</summary>
    internal async IAsyncEnumerable<TFrame> ReadFramesCoreAsync<TFrame>(FrameDecoder<TFrame> decoder, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await AcquireAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var driver = new FrameDriver<TFrame>(decoder, Watchdog);
            do
            {
                while (driver.TryNext(ref _buffer, out var frame))
                {
                    yield return frame;
                }
            }
            while (await FillAsync(cancellationToken).ConfigureAwait(false));

            if (_error is { } error)
            {
                throw driver.Fail(ref _buffer, error);
            }

            while (driver.TryNextAtEnd(ref _buffer, out var last))
            {
                yield return last;
            }
        }
        finally
        {
            Release();
        }
    }

    /// <summary>The lines of the input as an <see cref="IAsyncEnumerable{T}"/> (see <see cref="GetAsyncEnumerator"/>).</summary>
    /// <param name="cancellationToken">Cancels the iteration.</param>
    /// <returns>The lines, each with its <c>\n</c> (the last may lack it).</returns>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> ReadLinesAsync(CancellationToken cancellationToken = default) =>
        new LineSequence(this, cancellationToken);

    private ValueTask<ReadOnlyMemory<byte>> ReadUntilCoreAsync(byte[][] separators, CancellationToken cancellationToken) =>
        ReadFrameAsync(new SeparatorDecoder(separators, _limit, SeparatorDecoder.AtEnd.Throw), cancellationToken);

    /// <summary>One frame: from the buffer at once when it holds one, else fill, then drain the driver, until the end.</summary>
    private ValueTask<ReadOnlyMemory<byte>> ReadFrameAsync(FrameDecoder<ReadOnlyMemory<byte>> decoder, CancellationToken cancellationToken)
    {
        if (!TryAcquire())
        {
            return ReadFrameAfterAcquireAsync(decoder, cancellationToken);
        }

        bool release = true;
        try
        {
            var driver = StartFrame(decoder);
            if (driver.TryNext(ref _buffer, out var frame))
            {
                return new ValueTask<ReadOnlyMemory<byte>>(frame);
            }

            release = false;
            return ReadFrameSlowAsync(driver, cancellationToken);
        }
        finally
        {
            if (release)
            {
                Release();
            }
        }
    }

    private async ValueTask<ReadOnlyMemory<byte>> ReadFrameAfterAcquireAsync(FrameDecoder<ReadOnlyMemory<byte>> decoder, CancellationToken cancellationToken)
    {
        await AcquireAfterAsync(null, cancellationToken).ConfigureAwait(false);
        var driver = StartFrame(decoder);
        try
        {
            if (driver.TryNext(ref _buffer, out var frame))
            {
                Release();
                return frame;
            }
        }
        catch
        {
            Release();
            throw;
        }

        return await ReadFrameSlowAsync(driver, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs after the buffer could not supply a frame; owns the reader until it returns.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadOnlyMemory<byte>> ReadFrameSlowAsync(FrameDriver<ReadOnlyMemory<byte>> driver, CancellationToken cancellationToken)
    {
        try
        {
            while (await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                if (driver.TryNext(ref _buffer, out var frame))
                {
                    return frame;
                }
            }

            // The input failed (inside a frame: its bytes go with the error, never lost), or ended: a read of one frame
            // returns the last one or raises IncompleteReadException.
            return _error is { } error ? throw driver.Fail(ref _buffer, error) : driver.LastFrame(ref _buffer);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>A driver for one pull read; the decoder forgets its scan position, since other reads consumed the buffer since.</summary>
    private FrameDriver<ReadOnlyMemory<byte>> StartFrame(FrameDecoder<ReadOnlyMemory<byte>> decoder)
    {
        decoder.Reset();
        return new FrameDriver<ReadOnlyMemory<byte>>(decoder, Watchdog);
    }

    private ReadOnlyMemory<byte> Take(int count)
    {
        var taken = _buffer.Expose()[..count];
        _buffer.Consume(count);
        return taken;
    }

    private ReadOnlyMemory<byte> ThrowIfFailedAndEmpty(ReadOnlyMemory<byte> result)
    {
        if (result.IsEmpty && _buffer.Length == 0 && _error is { } error)
        {
            throw error;
        }

        return result;
    }

    private ValueTask AcquireAsync(CancellationToken cancellationToken) =>
        TryAcquire() ? default : AcquireAfterAsync(null, cancellationToken);
}
