using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// The accept loop shared by the hand-written socket servers: listens on 127.0.0.1:0, accepts
/// connections and runs a handler for each one on the thread pool, and on dispose closes every live
/// connection and waits for its handler. Keeping this in one place means the raw Pipelines and the
/// NetworkStream servers differ only in how they treat a connection's bytes.
/// </summary>
internal sealed class SocketAcceptLoop : IAsyncDisposable
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _listener;
    private readonly Func<Socket, CancellationToken, Task> _handleConnection;
    private readonly CancellationTokenSource _stopping = new();

    // Live connections and a completion signal for each. The entry is added by the accept loop before
    // the handler is dispatched, so a handler can never remove its entry before it exists.
    private readonly ConcurrentDictionary<Socket, TaskCompletionSource> _live = new();
    private readonly Task _acceptLoop;

    private SocketAcceptLoop(Func<Socket, CancellationToken, Task> handleConnection)
    {
        _handleConnection = handleConnection;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // Many clients connect at once in the 50-connection benchmark; a deep backlog avoids SYN retries.
        _listener.Listen(1024);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>Binds, starts accepting and returns at once; the handler owns nothing (the loop disposes the socket).</summary>
    public static SocketAcceptLoop Start(Func<Socket, CancellationToken, Task> handleConnection) => new(handleConnection);

    private async Task AcceptLoopAsync()
    {
        // Yield so the constructor returns before the first (possibly synchronous) accept attempt.
        await Task.Yield();
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            // Echo replies are small and latency matters (ping-pong); Kestrel also sets NoDelay by default,
            // so every baseline does, and the comparison measures software rather than Nagle's algorithm.
            socket.NoDelay = true;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _live[socket] = done;
            // Off the accept loop: a connection whose first read completes synchronously must not stall accepts.
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Loop.RunConnectionAsync(state.Socket, state.Done),
                (Loop: this, Socket: socket, Done: done), preferLocal: false);
        }
    }

    private async Task RunConnectionAsync(Socket socket, TaskCompletionSource done)
    {
        try
        {
            await _handleConnection(socket, _stopping.Token);
        }
        catch (Exception e) when (IsDisconnect(e) || e is InvalidDataException)
        {
            // The peer went away, we are shutting down, or the peer broke the protocol (an over-long line):
            // either way the connection just ends, as it would in a real server.
        }
        finally
        {
            _live.TryRemove(socket, out _);
            socket.Dispose();
            done.TrySetResult();
        }
    }

    /// <summary>Errors that just mean the connection ended (reset, closed under us, shutdown).</summary>
    internal static bool IsDisconnect(Exception e) =>
        e is SocketException or IOException or ObjectDisposedException or OperationCanceledException;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;

        // Closing the socket fails any pending receive, which ends the handler promptly.
        var pending = new List<Task>();
        foreach (var (socket, done) in _live)
        {
            socket.Dispose();
            pending.Add(done.Task);
        }

        await Task.WhenAll(pending).WaitAsync(DrainTimeout);
        _stopping.Dispose();
    }
}
