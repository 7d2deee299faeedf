using System.Runtime.CompilerServices;
using RxStreams.Decoders;
using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// The receiving half of a connection: asyncio's <c>StreamReader</c>, and a cold <see cref="IObservable{T}"/> of the
/// received byte chunks.
/// </summary>
/// <remarks>
/// <para>
/// <b>Two ways to consume, one at a time.</b> Subscribe (push: each received chunk is one <c>OnNext</c>; the end of the
/// input is <c>OnCompleted</c>; an I/O error is <c>OnError</c>), or call the pull methods (<see cref="ReadAsync"/>,
/// <see cref="ReadLineAsync"/>, <see cref="ReadExactlyAsync"/>, <see cref="ReadUntilAsync(ReadOnlyMemory{byte}, CancellationToken)"/>,
/// <c>await foreach</c> over lines). A connection's bytes are consumed once: while a subscription is active or a pull
/// read is pending, a second consumer gets <see cref="InvalidOperationException"/> (as <c>OnError</c> for a subscriber).
/// Consumers may follow each other: bytes a disposed subscription did not deliver are kept for the next one.
/// </para>
/// <para>
/// <b>Backpressure.</b> The next chunk is read only after the previous <c>OnNext</c> returned, and not while a
/// <see cref="ConnectionWriter"/> that <c>OnNext</c> wrote to (synchronously) is above its high-water mark. Pull reads
/// read from the socket only when they need bytes, so the buffer never holds more than the frame being read plus one
/// receive (asyncio pauses at twice the limit; RxStreams never reads ahead at all).
/// </para>
/// <para>
/// <b>Ownership.</b> Every chunk and frame returned or emitted is immutable memory that belongs to the receiver
/// (see docs/contract.md, guarantee 1 "Ownership"); it may share an array with its neighbours, which is never written
/// again.
/// </para>
/// <para>
/// <b>Errors (differs from asyncio on purpose).</b> asyncio raises a stored exception before returning buffered data, so a
/// reset after a complete message hides it. RxStreams delivers every byte that arrived first: a pull read returns the
/// buffered frames, and a frame cut short by the error raises <see cref="IncompleteReadException"/> whose
/// <see cref="IncompleteReadException.Partial"/> holds its bytes and whose <see cref="Exception.InnerException"/> is the
/// error; only then do reads raise the error itself.
/// </para>
/// <para>
/// <b>Races, decided</b> (docs/adr/0013-races-decided.md). Disposing a subscription while its <c>OnNext</c> runs lets
/// that call finish and starts no other; the chunks it did not deliver stay buffered for the next consumer, so two consumers in turn see
/// the stream whole, in order, with nothing repeated. Closing, disposing or aborting the connection from another thread
/// while a read is pending ends that read as the end of the input (it returns what it has; <c>ReadExactlyAsync</c> and
/// <c>ReadUntilAsync</c> raise <see cref="IncompleteReadException"/>), never with a hang and never with an error of
/// its own making; a peer's reset is still an <see cref="IOException"/>.
/// </para>
/// <para>
/// A subscription's lifecycle (reading, held by a paused writer, disposed, ended) is tabled in docs/contract.md
/// ("A reader subscription").
/// </para>
/// </remarks>
public sealed partial class ConnectionReader : IObservable<ReadOnlyMemory<byte>>, IOwnedMemorySource, IFrameTimeoutSource
{
    private readonly ByteSource _source;
    private ReadBuffer _buffer;
    private readonly int _limit;
    private readonly IWorkQueue? _workQueue = WorkQueue.Ambient; // the thread pool, unless made inside a simulation
    private Exception? _error; // the input failed; raised once the buffer is empty
    private bool _eof;
    private int _busy; // 1 while a subscription or a pull read owns the buffer
    private PushSubscription? _lastPush;
    private SeparatorDecoder? _lineDecoder;

    /// <summary>
    /// Creates a reader with no connection behind it, fed with <see cref="FeedData"/>, <see cref="FeedEof"/> and
    /// <see cref="SetException"/> (asyncio's <c>StreamReader(limit)</c>): for tests and in-memory pipes.
    /// </summary>
    /// <param name="limit">asyncio's <c>limit</c>: the longest line or separator-terminated frame; 64 KiB by default.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive (asyncio: 'Limit cannot be &lt;= 0').</exception>
    public ConnectionReader(int limit = Framing.FramingExtensions.DefaultLimit)
        : this(new FedSource(), limit, null, null)
    {
    }

    /// <summary>A reader of <paramref name="source"/>.</summary>
    /// <param name="source">Where the bytes come from: a connection's core, or bytes fed by hand.</param>
    /// <param name="limit">asyncio's <c>limit</c>.</param>
    /// <param name="ownWriter">The connection's writer, flushed before this reader waits for data.</param>
    /// <param name="watchdog">The connection's idle and frame timeouts, if any.</param>
    internal ConnectionReader(ByteSource source, int limit, ConnectionWriter? ownWriter, ConnectionWatchdog? watchdog)
    {
        if (limit <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "Limit cannot be <= 0.");
        }

        _source = source;
        _limit = limit;
        OwnWriter = ownWriter;
        Watchdog = watchdog;
    }

    /// <summary>asyncio's <c>limit</c>: the longest line or separator-terminated frame accepted.</summary>
    public int Limit => _limit;

    /// <summary>asyncio's <c>at_eof()</c>: the end of the input has been reached and every byte has been read.</summary>
    public bool AtEof => _buffer.Length == 0 && (_eof || _source.InputEnded);

    /// <summary>asyncio's <c>exception()</c>: the error that ended (or will end) the input, or <see langword="null"/>.</summary>
    public Exception? Exception => _error ?? _source.PendingError;

    /// <summary>
    /// Bytes received and not yet consumed (asyncio's <c>len(reader._buffer)</c>); for a reader created with
    /// <see cref="ConnectionReader(int)"/>, every byte fed with <see cref="FeedData"/> and not yet read.
    /// </summary>
    public int BufferedLength => _buffer.Length + _source.QueuedLength;

    /// <summary>
    /// asyncio's <c>repr(reader)</c>, in its order: <c>&lt;ConnectionReader 4 bytes eof limit=123 exception=IOException&gt;</c>,
    /// each part only when it applies (the limit only when it is not the 64 KiB default).
    /// </summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder("<ConnectionReader");
        if (BufferedLength is > 0 and var length)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $" {length} bytes");
        }

        if (_eof || _source.EndAnnounced)
        {
            text.Append(" eof");
        }

        if (_limit != Framing.FramingExtensions.DefaultLimit)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $" limit={_limit}");
        }

        if (Exception is { } error)
        {
            text.Append(" exception=").Append(error.GetType().Name);
        }

        return text.Append('>').ToString();
    }

    /// <summary>The connection's writer, flushed before this reader waits for data (pull-style request/response).</summary>
    internal ConnectionWriter? OwnWriter { get; }

    /// <summary>The connection's idle and frame timeouts, if any: told about received bytes and frames in progress.</summary>
    internal ConnectionWatchdog? Watchdog { get; }

    /// <summary>Whether emitted chunks are owned, immutable memory: always.</summary>
    bool IOwnedMemorySource.EmitsOwnedMemory => true;

    /// <summary>The frame timeout that framing operators over this reader keep: the connection's.</summary>
    ConnectionWatchdog? IFrameTimeoutSource.FrameWatchdog => Watchdog;

    /// <summary>asyncio's <c>feed_data()</c>: appends a copy of <paramref name="data"/> (only for a reader created with <see cref="ConnectionReader(int)"/>).</summary>
    /// <param name="data">The bytes; empty data is ignored.</param>
    /// <exception cref="InvalidOperationException">The reader belongs to a connection, or <see cref="FeedEof"/> was called.</exception>
    public void FeedData(ReadOnlySpan<byte> data) => Fed.Feed(data);

    /// <summary>asyncio's <c>feed_eof()</c>: marks the end of the input. Calling it twice is fine.</summary>
    /// <exception cref="InvalidOperationException">The reader belongs to a connection.</exception>
    public void FeedEof() => Fed.FeedEof();

    /// <summary>asyncio's <c>set_exception()</c>: the input fails with <paramref name="error"/> once the bytes fed before it are read; <see langword="null"/> clears it.</summary>
    /// <param name="error">The error.</param>
    /// <exception cref="InvalidOperationException">The reader belongs to a connection.</exception>
    public void SetException(Exception? error) => Fed.SetException(error);

    private FedSource Fed => _source as FedSource
        ?? throw new InvalidOperationException("This reader belongs to a connection; only a reader created with new ConnectionReader(limit) can be fed.");

    /// <summary>Receives more bytes; false at the end of the input, whether clean (<c>_eof</c>) or failed (<c>_error</c>).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int received = TryFill(ReceiveStrategy.Kept); // pull reads hand out slices that may be kept
            if (received >= 0)
            {
                return received > 0;
            }

            if (OwnWriter is { HasUnflushedData: true } writer)
            {
                // Request/response in pull style: what was written must leave before we wait for the answer.
                writer.FlushNow();
            }

            await WaitForInputAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes what the source has without waiting: the byte count, 0 at the end (clean or failed), -1 for "wait".</summary>
    /// <param name="strategy">How the receive takes memory: the consumer's choice (see <see cref="ChunkLease"/>).</param>
    private int TryFill(ReceiveStrategy strategy)
    {
        if (_eof || _error is not null)
        {
            return 0;
        }

        try
        {
            int received = _source.TryReceive(ref _buffer, strategy);
            if (received == 0)
            {
                _eof = true;
                OnInputEndSeen();
            }
            else if (received > 0)
            {
                Watchdog?.OnActivity();
                if (_source.IsNetworkInput)
                {
                    Metrics.BytesReceived(received); // bytes fed by hand (FeedData) are not network input
                }
            }

            return received;
        }
        catch (Exception error)
        {
            _error = error;
            OnInputEndSeen();
            return 0;
        }
    }

    /// <summary>Waits until the source may have something; its failures surface from the next <see cref="TryFill"/>.</summary>
    private async ValueTask WaitForInputAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _source.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _source.OnWaitFailed(error); // the next TryFill reports it
        }
    }

    /// <summary>
    /// Takes the reader for a TLS upgrade, as a consumer would (after a disposed subscription has wound down), and hands
    /// over the bytes it has received and nobody has read: they belong to the TLS layer (a ClientHello pipelined behind
    /// the last plaintext line). Call <see cref="EndUpgrade"/> after.
    /// </summary>
    /// <exception cref="InvalidOperationException">A subscription or a pull read is active.</exception>
    internal async ValueTask<byte[]> BeginUpgradeAsync(CancellationToken cancellationToken)
    {
        await AcquireAfterAsync(null, cancellationToken).ConfigureAwait(false);
        var pending = _buffer.Lend().ToArray(); // a copy: the array may go back to the pool
        _buffer.Clear();
        _buffer.ReleaseIfEmpty();
        return pending;
    }

    /// <summary>Releases the reader taken by <see cref="BeginUpgradeAsync"/>.</summary>
    internal void EndUpgrade() => Release();

    private bool TryAcquire()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            return false;
        }

        if (_source.QueuedLength > 0)
        {
            // asyncio's feed_data appends to the buffer at once, so a read sees every byte fed before it (a socket
            // reader is not affected: it still receives only when a read needs bytes).
            TryFill(ReceiveStrategy.Kept);
        }

        return true;
    }

    private void Release()
    {
        Watchdog?.EndFrame(); // whatever frame the consumer was waiting for, it no longer waits
        Volatile.Write(ref _busy, 0);
    }

    /// <summary>Waits for a disposed subscription to wind down, then takes the reader; throws if it is really busy.</summary>
    private async ValueTask AcquireAfterAsync(PushSubscription? winding, CancellationToken cancellationToken)
    {
        while (!TryAcquire())
        {
            winding ??= Volatile.Read(ref _lastPush);
            if (winding is { IsDisposed: true })
            {
                if (!winding.IsCompleted)
                {
                    await winding.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
                    winding = null;
                    continue;
                }

                // It released the reader just after our first try: one more try tells whether someone else holds it.
                if (TryAcquire())
                {
                    return;
                }
            }

            ThrowHelper.ThrowSecondConsumer();
        }
    }
}
