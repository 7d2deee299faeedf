using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// A connected stream socket as an <see cref="IByteChannel"/> whose waits are served by an <see cref="EventLoop"/>
/// instead of .NET's socket engine: a wake runs the reader inline on the loop's thread (non-blocking <c>recv</c>, decode,
/// handler, non-blocking <c>send</c>) with no thread-pool hop. Receives and sends are <see cref="SocketChannel"/>'s
/// (kept in step by hand while this is a prototype, ADR 0016); only the send remainder the kernel could not take
/// goes through .NET's asynchronous send.
/// </summary>
internal sealed class EventLoopChannel : IByteChannel
{
    private const int MinStreamingReceive = 4096;

    private readonly Socket _socket;
    private readonly EventLoop _loop;
    private readonly ReadinessWait _wait = new();
    private readonly int _descriptor;
    private readonly long _id;
    private EndPoint? _localEndPoint;
    private EndPoint? _remoteEndPoint;
    private bool _expectMoreData;
    private bool _woken;
    private int _closed;

    public EventLoopChannel(Socket socket)
    {
        _socket = socket;
        socket.Blocking = false;
        _descriptor = (int)socket.SafeHandle.DangerousGetHandle();
        _loop = EventLoop.Next();
        _id = _loop.Add(_descriptor, _wait); // reports data already queued as a first readiness
    }

    /// <summary>A channel for <paramref name="socket"/>: this one when <see cref="EventLoop.IsSelected"/>, else the default.</summary>
    public static IByteChannel Create(Socket socket) => EventLoop.IsSelected ? new EventLoopChannel(socket) : new SocketChannel(socket);

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
        if (streaming)
        {
            int minimum = pooled && buffer.Length == 0 ? ReadBuffer.MaxReceiveSize : MinStreamingReceive;
            memory = buffer.GetFreeSpace(minimum, ReadBuffer.MaxReceiveSize, pooled);
        }
        else
        {
            if (!_woken)
            {
                buffer.ReleaseIfEmpty();
                return -1;
            }

            if (pooled)
            {
                streaming = true;
                memory = buffer.GetFreeSpace(MinStreamingReceive, ReadBuffer.DefaultArraySize, pooled);
            }
            else
            {
                available = _socket.Available;
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
                return -1;
            }

            throw new SocketException((int)error);
        }

        buffer.Commit(received);
        _expectMoreData = streaming ? received == memory.Length : available > received;
        return received;
    }

    public ValueTask<int> WaitAsync(CancellationToken cancellationToken)
    {
        _woken = true;

        // The loop is edge-triggered: after a full receive the socket may still hold data that makes no new edge. Like
        // .NET's zero-byte receive, which completes at once when data is queued, this wait then does not wait.
        return _expectMoreData ? new ValueTask<int>(0) : _wait.WaitAsync(cancellationToken);
    }

    public ValueTask SendAsync(SendBatch batch, ISendProgress progress)
    {
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
        _socket.Shutdown(SocketShutdown.Send);
        return Task.CompletedTask;
    }

    public void Close(bool abort)
    {
        _ = LocalEndPoint;
        _ = RemoteEndPoint;
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _loop.Remove(_descriptor, _id); // before the descriptor closes: its number may be reused at once
        }

        if (abort)
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        else
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // Already shut down, or the peer is gone.
            }
        }

        _socket.Dispose();
        _wait.Close(); // after the dispose: the woken reader's next receive reports the closed socket
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
