using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace RxStreams.Internal;

/// <summary>A connected stream <see cref="System.Net.Sockets.Socket"/> (TCP or Unix) as a <see cref="Transport"/>.</summary>
/// <remarks>
/// <para>
/// Receives use the socket's own cached awaitable event args (<c>Socket.ReceiveAsync(Memory, CancellationToken)</c>
/// returns a <see cref="ValueTask{TResult}"/> backed by one reused <see cref="SocketAsyncEventArgs"/>), so no receive
/// allocates a <see cref="Task"/>, and cancellation never loses bytes: a cancelled receive leaves them in the kernel.
/// </para>
/// <para>
/// Memory: when the socket has been drained, the next receive is a zero-byte receive, which waits for data without a
/// buffer; only then is memory taken, sized by <see cref="Socket.Available"/>. An idle connection therefore holds no
/// receive memory at all (Kestrel's <c>WaitForDataBeforeAllocatingBuffer</c>). While data keeps coming, receives go
/// straight into the free space of the current array.
/// </para>
/// </remarks>
internal sealed class SocketTransport : Transport
{
    /// <summary>Free space below which a streaming receive moves to a fresh array rather than reading a sliver.</summary>
    private const int MinStreamingReceive = 4096;

    private readonly Socket _socket;
    private readonly EndPoint? _localEndPoint;
    private readonly EndPoint? _remoteEndPoint;
    private bool _expectMoreData;

    public SocketTransport(Socket socket)
    {
        _socket = socket;
        _localEndPoint = socket.LocalEndPoint;
        _remoteEndPoint = socket.RemoteEndPoint;
    }

    public override bool CanShutdownSend => true;

    public override EndPoint? LocalEndPoint => _localEndPoint;

    public override EndPoint? RemoteEndPoint => _remoteEndPoint;

    public override Socket? Socket => _socket;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReceiveAsync(ReadBuffer buffer, CancellationToken cancellationToken)
    {
        if (InputEnded)
        {
            return 0;
        }

        try
        {
            Memory<byte> memory;
            bool streaming = _expectMoreData;
            int available = 0;
            if (streaming)
            {
                memory = buffer.GetFreeSpace(MinStreamingReceive, ReadBuffer.MaxReceiveSize);
            }
            else
            {
                available = _socket.Available;
                if (available == 0)
                {
                    buffer.ReleaseIfEmpty();
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    available = _socket.Available;
                }

                // Zero available after waking means end of input or an error: a small receive tells which.
                int wanted = Math.Clamp(available, 256, ReadBuffer.MaxReceiveSize);
                memory = buffer.GetFreeSpace(wanted, wanted);
            }

            int received = await _socket.ReceiveAsync(memory, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            buffer.Commit(received);
            // Keep streaming while receives come back full; after a receive sized by Available, only if more was waiting.
            _expectMoreData = streaming ? received == memory.Length : available > received;
            if (received == 0)
            {
                MarkInputEnded();
            }

            return received;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return EndOfInputOrThrow(error);
        }
    }

    public override async ValueTask SendAsync(List<ArraySegment<byte>> segments)
    {
        try
        {
            if (segments.Count == 1)
            {
                var remaining = segments[0].AsMemory();
                while (!remaining.IsEmpty)
                {
                    int sent = await _socket.SendAsync(remaining, SocketFlags.None).ConfigureAwait(false);
                    remaining = remaining[sent..];
                }
            }
            else
            {
                // One gathered send (sendmsg with an iovec per segment) for everything queued.
                long total = 0;
                foreach (var segment in segments)
                {
                    total += segment.Count;
                }

                int sent = await _socket.SendAsync(segments, SocketFlags.None).ConfigureAwait(false);
                if (sent < total)
                {
                    await SendRemainderAsync(segments, sent).ConfigureAwait(false);
                }
            }
        }
        catch (SocketException error)
        {
            throw ThrowHelper.WrapSocketError(error);
        }
    }

    protected override void ShutdownSendCore() => _socket.Shutdown(SocketShutdown.Send);

    protected override void CloseCore(bool abort)
    {
        if (abort)
        {
            // Linger 0 turns close() into a reset: the peer learns at once that data was discarded.
            _socket.LingerState = new LingerOption(true, 0);
        }

        _socket.Dispose();
    }

    private async ValueTask SendRemainderAsync(List<ArraySegment<byte>> segments, int alreadySent)
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
            }
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
