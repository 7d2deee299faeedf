using System.IO.Pipelines;
using System.Net.Sockets;

namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// The baseline every benchmark compares against: a hand-written server on raw <see cref="Socket"/>s and
/// System.IO.Pipelines, the way a performance-minded engineer writes one. Per connection a receive loop fills
/// a <see cref="Pipe"/> straight from the socket, and an echo loop reads that pipe, frames lines with
/// <see cref="System.Buffers.SequenceReader{T}"/>, copies them to a <see cref="PipeWriter"/> over the socket and
/// flushes once per read result, so a batch of pipelined lines costs one send.
/// </summary>
/// <remarks>
/// Why this shape: the receive loop re-arms its receive as soon as bytes arrive, so the next batch is already
/// being received while the echo loop frames and sends the previous one (a single loop over
/// <c>PipeReader.Create(NetworkStream)</c> cannot overlap the two), and bulk echo can send the received segments
/// without copying them. On the shared 2-core machine the single-loop version measured within noise of this one.
/// A third loop for sending (Kestrel's layout) would add a thread hop to every round trip, so the echo loop
/// sends itself, inline in its flush.
/// </remarks>
internal sealed class RawPipelinesLineEchoServer : IEchoServer
{
    // Large segments so a bulk receive fills up to 64 KiB at once; a receive asks for at least 16 KiB of space.
    private const int SegmentSize = 64 * 1024;
    private const int MinimumReceiveSize = 16 * 1024;

    // Like Kestrel's default MaxReadBufferSize: stop receiving when 1 MiB is buffered but not yet echoed.
    private static readonly PipeOptions InputOptions = new(
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: SegmentSize,
        useSynchronizationContext: false);

    private static readonly StreamPipeWriterOptions OutputOptions = new(minimumBufferSize: SegmentSize, leaveOpen: true);

    private readonly SocketAcceptLoop _acceptLoop;

    public RawPipelinesLineEchoServer(EchoMode mode)
    {
        var echo = mode == EchoMode.Bulk ? (Func<Socket, PipeReader, CancellationToken, Task>)EchoBulkAsync : EchoLinesAsync;
        _acceptLoop = SocketAcceptLoop.Start((socket, cancellationToken) => HandleConnectionAsync(socket, echo, cancellationToken));
    }

    public int Port => _acceptLoop.Port;

    public static Task<IEchoServer> StartAsync(EchoMode mode) => Task.FromResult<IEchoServer>(new RawPipelinesLineEchoServer(mode));

    private static async Task HandleConnectionAsync(Socket socket, Func<Socket, PipeReader, CancellationToken, Task> echo, CancellationToken cancellationToken)
    {
        var input = new Pipe(InputOptions);
        var receiving = ReceiveLoopAsync(socket, input.Writer);
        try
        {
            await echo(socket, input.Reader, cancellationToken);
        }
        finally
        {
            await input.Reader.CompleteAsync();
            // The receive loop may be parked in a receive; shutting the socket down ends it (it reads 0 bytes).
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already disconnected.
            }

            await receiving;
        }
    }

    /// <summary>Receives directly into the pipe's memory; stops at EOF, on error, or when the echo loop is done.</summary>
    private static async Task ReceiveLoopAsync(Socket socket, PipeWriter writer)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(MinimumReceiveSize);
                var received = await socket.ReceiveAsync(memory, SocketFlags.None);
                if (received == 0)
                {
                    break;
                }

                writer.Advance(received);
                // Waits only when 1 MiB is buffered (backpressure); completes when the reader is gone.
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (SocketAcceptLoop.IsDisconnect(e))
        {
            // Hand the disconnect to the echo loop, which ends on it.
            error = e;
        }

        await writer.CompleteAsync(error);
    }

    private static async Task EchoLinesAsync(Socket socket, PipeReader input, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var output = PipeWriter.Create(stream, OutputOptions);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                var consumed = LineFraming.EchoCompleteLines(buffer, output);
                // Everything was examined: do not wake up again until more bytes arrive.
                input.AdvanceTo(consumed, buffer.End);

                // One flush (one send) for all lines of this read: the batching a pipelined client benefits from.
                var flush = await output.FlushAsync(cancellationToken);
                if (result.IsCompleted || flush.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            await output.CompleteAsync();
        }
    }

    /// <summary>Bulk echo sends the received segments as they are: no framing and no copy.</summary>
    private static async Task EchoBulkAsync(Socket socket, PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            foreach (var segment in buffer)
            {
                for (var remaining = segment; !remaining.IsEmpty;)
                {
                    var sent = await socket.SendAsync(remaining, SocketFlags.None, cancellationToken);
                    remaining = remaining[sent..];
                }
            }

            input.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    public ValueTask DisposeAsync() => _acceptLoop.DisposeAsync();
}
