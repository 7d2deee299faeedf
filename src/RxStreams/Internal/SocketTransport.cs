using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>A connected stream <see cref="System.Net.Sockets.Socket"/> (TCP or Unix) as a <see cref="Transport"/>.</summary>
/// <remarks>
/// <para>
/// The socket is non-blocking. Receives are plain non-blocking <c>recv</c> calls; when nothing is queued, the reader
/// awaits a zero-byte receive (the socket's own cached awaitable event args: no allocation, and cancelling it never
/// loses bytes, since it reads none). Memory is taken only once data is there, sized by <see cref="Socket.Available"/>,
/// so an idle connection holds no receive memory (Kestrel's <c>WaitForDataBeforeAllocatingBuffer</c>). While data
/// keeps coming, receives go straight into the free space of the current array. When the consumer copies every chunk
/// (<see cref="ReadBuffer.RecyclesArrays"/>, e.g. <c>reader.Lines().Subscribe(writer)</c>) the memory is a pooled array
/// instead, taken after the wake and given back before the next wait, and the <c>Available</c> ioctl is skipped: a wake
/// costs the zero-byte receive, one <c>recv</c> and the echo's <c>send</c>.
/// </para>
/// <para>
/// Sends are a non-blocking <c>send</c>/<c>sendmsg</c> first (one gathered call for every queued segment); only the
/// part the kernel could not take is sent asynchronously.
/// </para>
/// </remarks>
internal sealed class SocketTransport : Transport
{
    /// <summary>Free space below which a streaming receive moves to a fresh array rather than reading a sliver.</summary>
    private const int MinStreamingReceive = 4096;

    private readonly Socket _socket;
    private EndPoint? _localEndPoint; // read on first use (an idle connection need not hold them), kept for after close
    private EndPoint? _remoteEndPoint;
    private bool _expectMoreData;
    private bool _woken;
    private Exception? _waitError; // a zero-byte wait failed: the socket will not report it again
    private TlsLayer? _tls; // set once a TLS handshake succeeded: from then on every byte goes through it

    public SocketTransport(Socket socket)
    {
        _socket = socket;

        // Synchronous calls never block a thread: they return WouldBlock, and waiting is done asynchronously.
        socket.Blocking = false;
    }

    public override bool CanShutdownSend => true;

    public override EndPoint? LocalEndPoint => _localEndPoint ??= ReadEndPoint(static s => s.LocalEndPoint);

    public override EndPoint? RemoteEndPoint => _remoteEndPoint ??= ReadEndPoint(static s => s.RemoteEndPoint);

    public override Socket? Socket => _socket;

    /// <summary>The TLS mode, once a handshake succeeded (<see cref="InstallTls"/>); <see langword="null"/> on a plain connection.</summary>
    public TlsLayer? Tls => Volatile.Read(ref _tls);

    /// <summary>Switches the connection to TLS: the reader and writer are idle (the upgrade holds them), so no byte crosses over.</summary>
    public void InstallTls(TlsLayer tls) => Volatile.Write(ref _tls, tls);

    public override int TryReceive(ref ReadBuffer buffer)
    {
        if (_tls is { } tls)
        {
            return tls.TryReceive(ref buffer);
        }

        if (InputEnded)
        {
            return 0;
        }

        if (Interlocked.Exchange(ref _waitError, null) is { } waitError && waitError is not OperationCanceledException)
        {
            return EndOfInputOrThrow(waitError);
        }

        try
        {
            Memory<byte> memory;
            bool streaming = _expectMoreData;
            int available = 0;
            if (streaming)
            {
                // A pooled array that is empty again costs nothing to swap for a larger one: a stream that keeps filling
                // its receives (bulk transfer) then moves 64 KiB per recv and per send instead of 16 KiB.
                int minimum = buffer.RecyclesArrays && buffer.Length == 0 ? ReadBuffer.MaxReceiveSize : MinStreamingReceive;
                memory = buffer.GetFreeSpace(minimum, ReadBuffer.MaxReceiveSize);
            }
            else
            {
                if (!_woken)
                {
                    // The last receive drained the socket: wait (a zero-byte receive completes at once if data came in
                    // meanwhile) without asking the kernel first, and without holding memory while waiting.
                    buffer.ReleaseIfEmpty();
                    return -1;
                }

                if (buffer.RecyclesArrays)
                {
                    // The consumer copies every chunk and its arrays come back to the pool: no slice can pin an oversized
                    // array, so skip asking how much is queued (an ioctl per wake) and receive into a pooled array.
                    streaming = true;
                    memory = buffer.GetFreeSpace(MinStreamingReceive, ReadBuffer.DefaultArraySize);
                }
                else
                {
                    available = _socket.Available;

                    // Exactly what is queued, so no memory is allocated that data will not fill (a kept frame pins its
                    // array). Zero available after a wake means the end of the input or an error: a receive tells which.
                    int wanted = Math.Clamp(available, 1, ReadBuffer.MaxReceiveSize);
                    memory = buffer.GetFreeSpace(wanted, wanted);
                }
            }

            _woken = false;
            int received = _socket.Receive(memory.Span, SocketFlags.None, out SocketError error);
            if (error != SocketError.Success)
            {
                if (error == SocketError.WouldBlock)
                {
                    _expectMoreData = false;
                    return -1;
                }

                return EndOfInputOrThrow(new SocketException((int)error));
            }

            buffer.Commit(received);

            // Keep streaming while receives come back full; after a receive sized by Available, only if more was waiting.
            _expectMoreData = streaming ? received == memory.Length : available > received;
            if (received == 0)
            {
                MarkInputEnded();
            }

            return received;
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            return EndOfInputOrThrow(error);
        }
    }

    public override void OnWaitFailed(Exception error) => Volatile.Write(ref _waitError, error);

    public override ValueTask<int> WaitAsync(CancellationToken cancellationToken)
    {
        if (_tls is { } tls)
        {
            return tls.WaitAsync(cancellationToken);
        }

        Volatile.Write(ref _woken, true);
        if (IsClosed)
        {
            return new ValueTask<int>(0); // closing: the next TryReceive reports the end, no wait on a lingering socket
        }

        try
        {
            // A zero-byte receive: completes when data, a FIN or an error arrives, without a buffer. It uses the socket's
            // own cached awaitable event args, so waiting allocates nothing.
            return _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<int>(0);
        }
    }

    public override ValueTask SendAsync(SendBatch batch)
    {
        if (_tls is { } tls)
        {
            return tls.SendAsync(batch);
        }

        // First a non-blocking send straight from this thread: on a healthy connection it takes everything, with no
        // event args and no continuation. Only what the kernel could not take goes through an asynchronous send.
        int sent;
        SocketError error;
        try
        {
            sent = batch.Many is { } many
                ? _socket.Send(many, SocketFlags.None, out error)
                : _socket.Send(batch.Single.AsSpan(), SocketFlags.None, out error);
        }
        catch (ObjectDisposedException disposed)
        {
            return ValueTask.FromException(disposed);
        }

        if (error != SocketError.Success && error != SocketError.WouldBlock)
        {
            return ValueTask.FromException(ThrowHelper.WrapSocketError(new SocketException((int)error)));
        }

        Writer?.OnBytesSent(sent);

        return sent == batch.ByteCount ? default : SendRemainderAsync(batch.Many ?? [batch.Single], sent);
    }

    protected override void ShutdownSendCore()
    {
        if (_tls is { } tls)
        {
            tls.ShutdownSend(); // close_notify, then FIN
        }
        else
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
    }

    protected override bool CloseCore(bool abort)
    {
        // asyncio keeps peername/sockname readable after close: capture them before the socket goes.
        _ = LocalEndPoint;
        _ = RemoteEndPoint;
        if (abort)
        {
            _tls?.Dispose();
            ReleaseSocket(abort: true);
            return false;
        }

        // Graceful: our FIN (on TLS close_notify first), then a lingering close reads and discards the peer's input until
        // its EOF, so unread input never turns the close into a reset that destroys what the peer has not read yet.
        Task? sendSideShutdown = null;
        if (_tls is { } tls)
        {
            sendSideShutdown = tls.ShutdownSendAsync();
        }
        else
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // Already shut down (WriteEof), or the peer is gone: the drain finds out which.
            }
        }

        // A reader waiting in a receive has taken everything the socket held, and expects its EOF now: it can only be
        // woken by releasing the socket, so then only the send-side shutdown is awaited (ADR 0011).
        bool drain = !ReaderIsWaiting;
        var options = Connection?.Options;
        var linger = new LingeringClose(this, _socket, options?.CloseTimeout ?? ConnectionOptions.DefaultCloseTimeout, drain);
        linger.Start(sendSideShutdown, options?.Scheduler ?? System.Reactive.Concurrency.DefaultScheduler.Instance);
        return true;
    }

    /// <summary>Whether the reader waits for data (a zero-byte receive, or a TLS fill, still pending).</summary>
    private bool ReaderIsWaiting => _tls is { } tls ? tls.IsFilling : Volatile.Read(ref _woken);

    /// <summary>The lingering close is over: say why if it gave up (before the peer can see the reset), then release the socket.</summary>
    internal void EndLingeringClose(bool reset, Exception? error)
    {
        OnLingerEnded(error);
        try
        {
            _tls?.Dispose();
            ReleaseSocket(reset);
        }
        catch (Exception releaseError) when (releaseError is SocketException or ObjectDisposedException or IOException)
        {
            // Already gone: nothing more to release.
        }
    }

    private void ReleaseSocket(bool abort)
    {
        if (abort)
        {
            // Linger 0 turns close() into a reset: the peer learns at once that data was discarded.
            _socket.LingerState = new LingerOption(true, 0);
        }
        else
        {
            // A graceful close must stay one (FIN) even while the reader waits in a receive: .NET turns disposing a socket
            // with a pending operation into a reset unless the send side was shut down first (SafeSocketHandle: "unless
            // the user requested a normal close using Socket.Shutdown").
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // Already shut down, or the peer is gone: closing is all that is left.
            }
        }

        _socket.Dispose();
    }

    private async ValueTask SendRemainderAsync(List<ArraySegment<byte>> segments, int alreadySent)
    {
        try
        {
            foreach (var segment in segments)
            {
                if (alreadySent >= segment.Count)
                {
                    alreadySent -= segment.Count;
                    continue;
                }

                var remaining = segment.AsMemory(alreadySent);
                alreadySent = 0;
                while (!remaining.IsEmpty)
                {
                    int sent = await _socket.SendAsync(remaining, SocketFlags.None).ConfigureAwait(false);
                    remaining = remaining[sent..];
                    Writer?.OnBytesSent(sent);
                }
            }
        }
        catch (SocketException error)
        {
            throw ThrowHelper.WrapSocketError(error);
        }
    }

    private EndPoint? ReadEndPoint(Func<Socket, EndPoint?> read)
    {
        try
        {
            return read(_socket);
        }
        catch (Exception error) when (error is ObjectDisposedException or SocketException)
        {
            return null;
        }
    }

    private int EndOfInputOrThrow(Exception error)
    {
        if (IsClosed && TerminalError is null)
        {
            // We closed the socket ourselves: for the reader that is the end of the input (asyncio: local close → EOF).
            MarkInputEnded();
            return 0;
        }

        var terminal = TerminalError ?? (error is SocketException socketError ? ThrowHelper.WrapSocketError(socketError) : error);
        Fail(terminal);
        throw TerminalError ?? terminal;
    }
}
