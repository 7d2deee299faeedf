using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace RxStreams.Internal;

/// <summary>
/// The TLS mode of a <see cref="SocketTransport"/>: once a handshake succeeded, the transport's receives, sends, half-close
/// and close go through this <see cref="SslStream"/> instead of the socket, so the same reader and writer carry TLS.
/// </summary>
/// <remarks>
/// <para>
/// <b>Receiving.</b> The reader's model is "take what is there (<see cref="TryReceive"/>), else wait
/// (<see cref="WaitAsync"/>)". A stream has no "take what is there", so one fill at a time runs in the background: a
/// zero-byte <c>SslStream</c> read (on .NET 8+ it waits with a zero-byte read on the socket and allocates its own
/// buffer only once a record arrives; it returns that buffer to the pool when drained), then one read into a pooled
/// 16 KiB array, which <see cref="TryReceive"/> copies into the reader's buffer and returns to the pool. An idle TLS
/// connection therefore holds no receive buffer of ours or of <c>SslStream</c>'s. A cancelled wait leaves the fill
/// running: its bytes are kept for the next read, never lost, and <c>SslStream</c> never sees a cancelled read.
/// </para>
/// <para>
/// <b>Half-close.</b> <see cref="ShutdownSend"/> sends close_notify, then shuts the socket's send direction (TCP FIN).
/// TLS 1.3 (RFC 8446 §6.1) lets the peer go on sending after our close_notify, and <c>SslStream</c> goes on reading, so
/// <c>WriteEof</c> works as on TCP. A TLS 1.2 peer may answer with its own close_notify and close, which the reader sees as EOF.
/// </para>
/// <para>
/// <b>Peer close_notify</b> is the end of the input, exactly like a TCP FIN: the connection stays open so a reply can be
/// written, and closes once our side is done too (asyncio instead closes a TLS transport on the peer's close_notify).
/// </para>
/// </remarks>
internal sealed class TlsLayer
{
    private const int ReceiveSize = 16 * 1024; // TLS's largest record payload

    private readonly SocketTransport _transport;
    private readonly SslStream _ssl;
    private Task? _fill;
    private byte[]? _pending;
    private int _pendingStart;
    private int _pendingEnd;
    private bool _ended;
    private Exception? _error;
    private Task? _shutdown;

    public TlsLayer(SocketTransport transport, SslStream ssl, TlsInfo info, ConnectionOptions options)
    {
        _transport = transport;
        _ssl = ssl;
        Info = info;
    }

    public TlsInfo Info { get; }

    /// <summary>Whether a fill (the reader's wait for a record) is still pending.</summary>
    public bool IsFilling => Volatile.Read(ref _fill) is { IsCompleted: false };

    public int TryReceive(ref ReadBuffer buffer)
    {
        if (_transport.InputEnded)
        {
            return 0;
        }

        var fill = _fill;
        if (fill is null || !fill.IsCompleted)
        {
            buffer.ReleaseIfEmpty();
            return -1;
        }

        if (_pending is { } pending)
        {
            int count = _pendingEnd - _pendingStart;
            var target = buffer.GetFreeSpace(count, Math.Max(count, ReadBuffer.DefaultArraySize));
            pending.AsSpan(_pendingStart, count).CopyTo(target.Span);
            buffer.Commit(count);
            _pending = null;
            ArrayPool<byte>.Shared.Return(pending);
            _fill = null;
            return count;
        }

        _fill = null;
        if (_error is { } error)
        {
            _error = null;
            return EndOfInputOrThrow(error);
        }

        if (_ended)
        {
            _transport.MarkInputEnded();
            return 0;
        }

        return -1;
    }

    public ValueTask<int> WaitAsync(CancellationToken cancellationToken)
    {
        var fill = _fill ??= FillAsync();
        return fill.IsCompleted ? new ValueTask<int>(0) : AwaitFillAsync(fill, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(SendBatch batch)
    {
        if (batch.Many is not { } segments)
        {
            await _ssl.WriteAsync(batch.Single.AsMemory()).ConfigureAwait(false);
            _transport.Writer?.OnBytesSent(batch.Single.Count);
            return;
        }

        // Small segments are packed into full records (one record per segment would cost 22+ bytes and a MAC each).
        byte[]? packed = null;
        int used = 0;
        try
        {
            foreach (var segment in segments)
            {
                if (segment.Count >= ReceiveSize)
                {
                    if (used > 0)
                    {
                        await _ssl.WriteAsync(packed.AsMemory(0, used)).ConfigureAwait(false);
                        _transport.Writer?.OnBytesSent(used);
                        used = 0;
                    }

                    await _ssl.WriteAsync(segment.AsMemory()).ConfigureAwait(false);
                    _transport.Writer?.OnBytesSent(segment.Count);
                    continue;
                }

                packed ??= ArrayPool<byte>.Shared.Rent(ReceiveSize);
                if (used + segment.Count > ReceiveSize)
                {
                    await _ssl.WriteAsync(packed.AsMemory(0, used)).ConfigureAwait(false);
                    _transport.Writer?.OnBytesSent(used);
                    used = 0;
                }

                segment.AsSpan().CopyTo(packed.AsSpan(used));
                used += segment.Count;
            }

            if (used > 0)
            {
                await _ssl.WriteAsync(packed.AsMemory(0, used)).ConfigureAwait(false);
                _transport.Writer?.OnBytesSent(used);
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

    /// <summary>close_notify, then TCP FIN; runs in the background (the writer has sent everything already).</summary>
    public void ShutdownSend() => _shutdown ??= ShutdownAsync();

    /// <summary>
    /// A graceful close's first step: close_notify (if not sent yet), then TCP FIN. The transport's lingering close then
    /// drains the socket until the peer's EOF, bounded by the connection's close timeout (a peer that never reads cannot
    /// keep the socket). The task never faults: a failure while closing means the peer is gone, which the drain finds out.
    /// </summary>
    public Task ShutdownSendAsync() => _shutdown ??= ShutdownAsync();

    /// <summary>Releases the <see cref="SslStream"/> (not the socket: the transport owns it).</summary>
    public void Dispose() => _ssl.Dispose();

    private async Task ShutdownAsync()
    {
        try
        {
            await _ssl.ShutdownAsync().ConfigureAwait(false);
            _transport.Socket?.Shutdown(SocketShutdown.Send);
        }
        catch (Exception error)
        {
            // Nobody awaits this task: every failure becomes the connection's error (or nothing, if it is closed already).
            if (!_transport.IsClosed)
            {
                _transport.Fail(error is SocketException socketError ? ThrowHelper.WrapSocketError(socketError) : error);
            }
        }
    }

    private async Task FillAsync()
    {
        byte[]? array = null;
        try
        {
            // A zero-byte read: waits for a record without a buffer of ours (and SslStream rents its own only then).
            await _ssl.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
            array = ArrayPool<byte>.Shared.Rent(ReceiveSize);
            int received = await _ssl.ReadAsync(array.AsMemory()).ConfigureAwait(false);
            if (received == 0)
            {
                _ended = true; // close_notify, or the TCP connection ended at a record boundary
            }
            else
            {
                _pending = array;
                _pendingStart = 0;
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

    private int EndOfInputOrThrow(Exception error)
    {
        if (_transport.IsClosed && _transport.TerminalError is null)
        {
            // We closed it ourselves: the end of the input, as on a plain socket.
            _transport.MarkInputEnded();
            return 0;
        }

        var terminal = _transport.TerminalError
            ?? (error is IOException ? error : new IOException("TLS connection lost: " + error.Message, error));
        _transport.Fail(terminal);
        throw _transport.TerminalError ?? terminal;
    }
}
