using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Runtime.CompilerServices;

namespace RxStreams.Internal;

/// <summary>
/// TLS over any other channel: an <see cref="SslStream"/> over a <see cref="ChannelStream"/> of the inner channel
/// (Bedrock's <c>TlsServerConnectionMiddleware</c> shape). A handshake that succeeded replaces the connection's channel
/// with this one (<see cref="ConnectionCore.ReplaceChannel"/>), so the same reader and writer carry TLS.
/// </summary>
/// <remarks>
/// <para>
/// <b>Receiving.</b> The reader's model is "take what is there (<see cref="TryReceive"/>), else wait
/// (<see cref="WaitAsync"/>)". A stream has no "take what is there", so one fill at a time runs in the background: a
/// zero-byte <c>SslStream</c> read (on .NET 8+ it waits with a zero-byte read on the inner stream and allocates its own
/// buffer only once a record arrives; it returns that buffer to the pool when drained), then one read into a pooled
/// 16 KiB array, which <see cref="TryReceive"/> copies into the reader's buffer and returns to the pool. An idle TLS
/// connection therefore holds no receive buffer of ours or of <c>SslStream</c>'s. A cancelled wait leaves the fill
/// running: its bytes are kept for the next read, never lost, and <c>SslStream</c> never sees a cancelled read.
/// </para>
/// <para>
/// <b>Sending.</b> Plaintext is written one record (16 KiB) at a time, small segments packed together, and each record
/// counts as sent (<see cref="ISendProgress"/>) once its ciphertext has been handed to the inner channel: the writer's
/// buffer size then excludes what already left, as on a plain socket, to within one record.
/// </para>
/// <para>
/// <b>Half-close.</b> <see cref="ShutdownSendAsync"/> sends close_notify, then shuts the inner channel's send direction
/// (TCP FIN). TLS 1.3 (RFC 8446 §6.1) lets the peer go on sending after our close_notify, and <c>SslStream</c> goes on
/// reading, so <c>WriteEof</c> works as on TCP. A TLS 1.2 peer may answer with its own close_notify and close, which the
/// reader sees as EOF.
/// </para>
/// <para>
/// <b>Peer close_notify</b> is the end of the input, exactly like a TCP FIN: the connection stays open so a reply can be
/// written, and closes once our side is done too (asyncio instead closes a TLS transport on the peer's close_notify).
/// </para>
/// </remarks>
internal sealed class TlsChannel : IByteChannel
{
    private const int RecordSize = 16 * 1024; // TLS's largest record payload

    private readonly IByteChannel _inner;
    private readonly SslStream _ssl;
    private readonly DecryptGate _gate; // close_notify never runs inside a decrypting read (OpenSSL cannot do both at once)
    private readonly IScheduler _scheduler;
    private readonly TimeSpan _closeTimeout;
    private Task? _fill;
    private byte[]? _pending;
    private int _pendingEnd;
    private bool _ended;
    private Exception? _error;
    private Task? _shutdown;

    public TlsChannel(IByteChannel inner, SslStream ssl, DecryptGate gate, TlsInfo info, IScheduler scheduler, TimeSpan closeTimeout)
    {
        _inner = inner;
        _ssl = ssl;
        _gate = gate;
        Tls = info;
        _scheduler = scheduler;
        _closeTimeout = closeTimeout;
    }

    public TlsInfo? Tls { get; }

    public EndPoint? LocalEndPoint => _inner.LocalEndPoint;

    public EndPoint? RemoteEndPoint => _inner.RemoteEndPoint;

    public Socket? Socket => _inner.Socket;

    public string NetworkTransport => _inner.NetworkTransport;

    public bool CanShutdownSend => _inner.CanShutdownSend;

    public int TryReceive(ref ReadBuffer buffer, ReceiveStrategy strategy)
    {
        var fill = _fill;
        if (fill is null || !fill.IsCompleted)
        {
            buffer.ReleaseIfEmpty();
            return -1;
        }

        _fill = null;
        if (_pending is { } pending)
        {
            int count = _pendingEnd;
            var target = buffer.GetFreeSpace(count, Math.Max(count, ReadBuffer.DefaultArraySize), strategy == ReceiveStrategy.Pooled);
            pending.AsSpan(0, count).CopyTo(target.Span);
            buffer.Commit(count);
            _pending = null;
            ArrayPool<byte>.Shared.Return(pending);
            return count;
        }

        if (_error is { } error)
        {
            _error = null;
            throw error is IOException ? error : new IOException("TLS connection lost: " + error.Message, error);
        }

        return _ended ? 0 : -1;
    }

    public ValueTask<int> WaitAsync(CancellationToken cancellationToken)
    {
        var fill = _fill ??= FillAsync();
        return fill.IsCompleted ? new ValueTask<int>(0) : AwaitFillAsync(fill, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(SendBatch batch, ISendProgress progress)
    {
        if (batch.Many is not { } segments)
        {
            await WriteRecordsAsync(batch.Single, progress).ConfigureAwait(false);
            return;
        }

        // Small segments are packed into full records (one record per segment would cost 22+ bytes and a MAC each).
        byte[]? packed = null;
        int used = 0;
        try
        {
            foreach (var segment in segments)
            {
                if (segment.Count >= RecordSize)
                {
                    if (used > 0)
                    {
                        await _ssl.WriteAsync(packed.AsMemory(0, used)).ConfigureAwait(false);
                        progress.OnBytesSent(used);
                        used = 0;
                    }

                    await WriteRecordsAsync(segment, progress).ConfigureAwait(false);
                    continue;
                }

                packed ??= ArrayPool<byte>.Shared.Rent(RecordSize);
                if (used + segment.Count > RecordSize)
                {
                    await _ssl.WriteAsync(packed.AsMemory(0, used)).ConfigureAwait(false);
                    progress.OnBytesSent(used);
                    used = 0;
                }

                segment.AsSpan().CopyTo(packed.AsSpan(used));
                used += segment.Count;
            }

            if (used > 0)
            {
                await _ssl.WriteAsync(packed.AsMemory(0, used)).ConfigureAwait(false);
                progress.OnBytesSent(used);
            }
        }
        finally
        {
            if (packed is not null)
            {
                ArrayPool<byte>.Shared.Return(packed);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="segment"/> one record at a time, counting each record's plaintext as sent once its ciphertext
    /// has been handed to the inner channel (asyncio's <c>get_write_buffer_size()</c> excludes what reached the kernel).
    /// One <c>SslStream</c> write of the whole segment would cut the same records, but report nothing until the last.
    /// </summary>
    private async ValueTask WriteRecordsAsync(ArraySegment<byte> segment, ISendProgress progress)
    {
        var remaining = segment.AsMemory();
        while (!remaining.IsEmpty)
        {
            var record = remaining[..Math.Min(RecordSize, remaining.Length)];
            await _ssl.WriteAsync(record).ConfigureAwait(false);
            progress.OnBytesSent(record.Length);
            remaining = remaining[record.Length..];
        }
    }

    /// <summary>close_notify, then the inner channel's FIN; the writer has sent everything already.</summary>
    public Task ShutdownSendAsync() => _shutdown ??= ShutdownAsync();

    /// <summary>
    /// Graceful: close_notify (if not sent yet), then the inner channel is released; bounded by the connection's close
    /// timeout (a peer that never reads cannot keep the connection). Abort: released at once. Over a socket the core
    /// lingers first (<see cref="LingeringClose"/>: close_notify, FIN, drain), so by then close_notify is sent already.
    /// </summary>
    public void Close(bool abort)
    {
        if (abort)
        {
            _ssl.Dispose();
            _inner.Close(abort: true);
            return;
        }

        var shutdown = _shutdown ??= ShutdownAsync();
        if (shutdown.IsCompleted)
        {
            _ = shutdown.Exception; // a failed close_notify changes nothing now: the connection is closing
            _ssl.Dispose();
            _inner.Close(abort: false);
            return;
        }

        var release = new OneRelease(_ssl, _inner);
        var deadline = _scheduler.Schedule(release, _closeTimeout, static (_, r) =>
        {
            r.Run(abort: true);
            return Disposable.Empty;
        });
        shutdown.ContinueWith(
            static (done, state) =>
            {
                _ = done.Exception; // observed: see above
                var (r, timer) = ((OneRelease, IDisposable))state!;
                timer.Dispose();
                r.Run(abort: false);
            },
            (release, deadline),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task ShutdownAsync()
    {
        var closeNotify = await _gate.StartShutdownAsync(_ssl.ShutdownAsync).ConfigureAwait(false);
        await closeNotify.ConfigureAwait(false);
        await _inner.ShutdownSendAsync().ConfigureAwait(false);
    }

    private async Task FillAsync()
    {
        byte[]? array = null;
        await _gate.EnterReadAsync().ConfigureAwait(false);
        try
        {
            // A zero-byte read: waits for a record without a buffer of ours (and SslStream rents its own only then).
            await _ssl.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
            array = ArrayPool<byte>.Shared.Rent(RecordSize);
            int received = await _ssl.ReadAsync(array.AsMemory()).ConfigureAwait(false);
            if (received == 0)
            {
                _ended = true; // close_notify, or the inner channel ended at a record boundary
            }
            else
            {
                _pending = array;
                _pendingEnd = received;
                array = null;
            }
        }
        catch (Exception error)
        {
            _error = error;
        }
        finally
        {
            _gate.ExitRead();
            if (array is not null)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }

    private static async ValueTask<int> AwaitFillAsync(Task fill, CancellationToken cancellationToken)
    {
        await fill.WaitAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Releases the inner channel once, whichever of the shutdown and the close deadline comes first.</summary>
    private sealed class OneRelease(SslStream ssl, IByteChannel inner)
    {
        private int _done;

        public void Run(bool abort)
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                try
                {
                    ssl.Dispose();
                    inner.Close(abort);
                }
                catch (Exception error) when (error is SocketException or ObjectDisposedException or IOException)
                {
                    // Already gone: nothing more to release (this runs on a timer or a continuation, nobody to tell).
                }
            }
        }
    }
}
