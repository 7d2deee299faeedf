using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>A connected stream <see cref="System.Net.Sockets.Socket"/> (TCP or Unix) as an <see cref="IByteChannel"/>.</summary>
/// <remarks>
/// <para>
/// The socket is non-blocking. Receives are plain non-blocking <c>recv</c> calls; when nothing is queued, the reader
/// awaits a zero-byte receive (the socket's own cached awaitable event args: no allocation, and cancelling it never
/// loses bytes, since it reads none). Memory is taken only once data is there, sized by <see cref="Socket.Available"/>,
/// so an idle connection holds no receive memory (Kestrel's <c>WaitForDataBeforeAllocatingBuffer</c>). While data
/// keeps coming, receives go straight into the free space of the current array. When the consumer copies every chunk
/// (<see cref="ReceiveStrategy.Pooled"/>, e.g. <c>reader.Lines().Subscribe(writer)</c>) the memory is a pooled array
/// instead, taken after the wake and given back before the next wait, and the <c>Available</c> ioctl is skipped: a wake
/// costs the zero-byte receive, one <c>recv</c> and the echo's <c>send</c>.
/// </para>
/// <para>
/// Sends are a non-blocking <c>send</c>/<c>sendmsg</c> first (one gathered call for every queued segment); only the
/// part the kernel could not take is sent asynchronously.
/// </para>
/// <para>
/// Opt-in (<see cref="ConnectionOptions.PreferEventLoop"/>, or <c>RXSTREAMS_CHANNEL=eventloop</c>; ADR 0016): the waits are served by an <see cref="EventLoop"/> instead of
/// .NET's zero-byte receive (<see cref="SocketReadiness"/>), and a push reader's wait completes on the loop's thread, so
/// its receive, decode, subscribers and send run to completion there with no thread-pool hop. Receives and sends are the
/// same code either way.
/// </para>
/// </remarks>
internal sealed class SocketChannel : IByteChannel
{
    /// <summary>Free space below which a streaming receive moves to a fresh array rather than reading a sliver.</summary>
    private const int MinStreamingReceive = 4096;

    private readonly Socket _socket;
    private readonly SocketReadiness? _readiness; // the event loop's; null: .NET's engine (zero-byte receives)
    private EndPoint? _localEndPoint; // read on first use (an idle connection need not hold them), kept for after close
    private EndPoint? _remoteEndPoint;
    private bool _expectMoreData;
    private bool _woken;
    private volatile bool _sendShutDown; // a second shutdown(2) after the peer's FIN fails (ENOTCONN): one exception per close

    public SocketChannel(Socket socket)
        : this(socket, loop: null)
    {
    }

    /// <param name="socket">The connected socket.</param>
    /// <param name="loop">The event loop that serves the waits; <see langword="null"/> for .NET's engine.</param>
    public SocketChannel(Socket socket, EventLoop? loop)
    {
        _socket = socket;

        // Synchronous calls never block a thread: they return WouldBlock, and waiting is done asynchronously.
        socket.Blocking = false;
        _readiness = loop is null ? null : new SocketReadiness(socket, loop);
    }

    /// <summary>
    /// A channel for a connected socket, its waits served by an event loop when the options ask for one
    /// (<see cref="ConnectionOptions.PreferEventLoop"/>) or the process selected them, and this platform has them.
    /// </summary>
    public static SocketChannel Create(Socket socket, ConnectionOptions options)
    {
        if ((options.PreferEventLoop || EventLoop.IsSelected) && EventLoop.IsSupported)
        {
            try
            {
                return new SocketChannel(socket, EventLoop.Next());
            }
            catch (SocketException)
            {
                // The epoll set refused it (fs.epoll.max_user_watches): .NET's engine serves this socket instead.
            }
        }

        return new SocketChannel(socket);
    }

    public bool CanShutdownSend => true;

    public EndPoint? LocalEndPoint => _localEndPoint ??= ReadEndPoint(static s => s.LocalEndPoint);

    public EndPoint? RemoteEndPoint => _remoteEndPoint ??= ReadEndPoint(static s => s.RemoteEndPoint);

    public Socket? Socket => _socket;

    public string NetworkTransport => _socket.AddressFamily == AddressFamily.Unix ? "unix" : "tcp";

    public TlsInfo? Tls => null;

    public int TryReceive(ref ReadBuffer buffer, ReceiveStrategy strategy)
    {
        Memory<byte> memory;
        bool pooled = strategy == ReceiveStrategy.Pooled;
        bool streaming = _expectMoreData;
        int available = 0;
        long edges = _readiness?.Edges ?? 0; // before looking at the socket: an edge after that may be data we miss
        if (streaming)
        {
            // A pooled array that is empty again costs nothing to swap for a larger one: a stream that keeps filling
            // its receives (bulk transfer) then moves 64 KiB per recv and per send instead of 16 KiB.
            int minimum = pooled && buffer.Length == 0 ? ReadBuffer.MaxReceiveSize : MinStreamingReceive;
            memory = buffer.GetFreeSpace(minimum, ReadBuffer.MaxReceiveSize, pooled);
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

            if (pooled)
            {
                // The consumer copies every chunk and its arrays come back to the pool: no slice can pin an oversized
                // array, so skip asking how much is queued (an ioctl per wake) and receive into a pooled array.
                streaming = true;
                memory = buffer.GetFreeSpace(MinStreamingReceive, ReadBuffer.DefaultArraySize, pooled);
            }
            else
            {
                available = _socket.Available;

                // Exactly what is queued, so no memory is allocated that data will not fill (a kept frame pins its
                // array). Zero available after a wake means the end of the input or an error: a receive tells which.
                int wanted = Math.Clamp(available, 1, ReadBuffer.MaxReceiveSize);
                memory = buffer.GetFreeSpace(wanted, wanted, pooled);
            }
        }

        _woken = false;
        int received = _socket.Receive(memory.Span, SocketFlags.None, out SocketError error);
        if (error != SocketError.Success)
        {
            if (error == SocketError.WouldBlock)
            {
                _expectMoreData = false;
                _readiness?.MarkDrained(edges);
                return -1;
            }

            throw new SocketException((int)error);
        }

        buffer.Commit(received);

        // Keep streaming while receives come back full; after a receive sized by Available, only if more was waiting.
        _expectMoreData = streaming ? received == memory.Length : available > received;
        if (!_expectMoreData && received > 0)
        {
            _readiness?.MarkDrained(edges); // it took less than it asked for: all that was queued
        }

        return received;
    }

    public ValueTask<int> WaitAsync(CancellationToken cancellationToken) => Wait(inline: false, cancellationToken);

    public ValueTask<int> WaitInlineAsync(CancellationToken cancellationToken) => Wait(inline: true, cancellationToken);

    private ValueTask<int> Wait(bool inline, CancellationToken cancellationToken)
    {
        _woken = true;
        if (_readiness is { } readiness)
        {
            return readiness.WaitAsync(inline, cancellationToken);
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

    public ValueTask SendAsync(SendBatch batch, ISendProgress progress)
    {
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

        progress.OnBytesSent(sent);

        return sent == batch.ByteCount ? default : SendRemainderAsync(batch.Many ?? [batch.Single], sent, progress);
    }

    public Task ShutdownSendAsync()
    {
        if (!_sendShutDown)
        {
            _socket.Shutdown(SocketShutdown.Send);
            _sendShutDown = true;
        }

        return Task.CompletedTask;
    }

    public void Close(bool abort)
    {
        // asyncio keeps peername/sockname readable after close: capture them before the socket goes.
        _ = LocalEndPoint;
        _ = RemoteEndPoint;
        _readiness?.Unregister(_socket); // before the descriptor closes: its number may be reused at once
        if (abort)
        {
            // Linger 0 turns close() into a reset: the peer learns at once that data was discarded.
            _socket.LingerState = new LingerOption(true, 0);
        }
        else if (!_sendShutDown)
        {
            // A graceful close must stay one (FIN, and the kernel still sends what it holds) even while the reader waits
            // in a receive: .NET turns disposing a socket with a pending operation into a reset unless the send side was
            // shut down first (SafeSocketHandle: "unless the user requested a normal close using Socket.Shutdown").
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
        _readiness?.Close(); // after the dispose: a woken waiter's next receive reports the closed socket
    }

    private async ValueTask SendRemainderAsync(List<ArraySegment<byte>> segments, int alreadySent, ISendProgress progress)
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
                    progress.OnBytesSent(sent);
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
}
