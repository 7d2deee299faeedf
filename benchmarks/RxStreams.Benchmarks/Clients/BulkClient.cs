using System.Buffers;
using System.Net.Sockets;

namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// Throughput load: one connection sends a given number of bytes as fast as it can while concurrently
/// receiving the echo (sending and receiving must overlap, or both sides' socket buffers fill and the
/// transfer deadlocks). The run succeeds when exactly as many bytes came back as were sent.
/// </summary>
/// <remarks>
/// The bytes are a repeated 64 KiB pattern, sent one pattern per send: pseudo-random bytes for raw echo
/// (<see cref="EchoPayload.BulkPattern"/>), or whole long lines for line echo (<see cref="EchoPayload.LongLines"/>,
/// with a total that is a multiple of the line length, since a line server drops a trailing partial line).
/// </remarks>
internal sealed class BulkClient(byte[] pattern)
{
    /// <summary>The send chunk: 64 KiB is the loopback segment size, so each send is one skb.</summary>
    public const int ChunkSize = 64 * 1024;

    private const int ReceiveBufferSize = 256 * 1024;

    private static readonly byte[] RandomPattern = EchoPayload.BulkPattern(ChunkSize);

    private readonly byte[] _pattern = pattern;

    /// <summary>Raw bulk: pseudo-random bytes, no line structure.</summary>
    public BulkClient()
        : this(RandomPattern)
    {
    }

    public TimeSpan Timeout { get; init; } = Deadline.DefaultTimeout;

    public bool VerifyContent { get; init; }

    /// <summary>Returns the number of bytes echoed (always <paramref name="totalBytes"/>).</summary>
    public Task<long> RunAsync(int port, long totalBytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalBytes);
        return Deadline.RunAsync($"Bulk echo ({totalBytes} bytes)", Timeout, token => RunCoreAsync(port, totalBytes, token), cancellationToken);
    }

    private async Task<long> RunCoreAsync(int port, long totalBytes, CancellationToken cancellationToken)
    {
        using var socket = await LoopbackConnector.ConnectAsync(port, cancellationToken);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sending = SendAsync(socket, totalBytes, failed.Token);
        try
        {
            var received = await ReceiveAsync(socket, totalBytes, failed.Token);
            await sending;
            return received;
        }
        catch
        {
            // Do not leave the send loop running against a connection we are about to close.
            await failed.CancelAsync();
            try
            {
                await sending;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Expected: we just cancelled it.
            }

            throw;
        }
    }

    private async Task SendAsync(Socket socket, long totalBytes, CancellationToken cancellationToken)
    {
        // Yield so the receive loop starts at once instead of after the first send window fills.
        await Task.Yield();
        for (var remaining = totalBytes; remaining > 0;)
        {
            var chunk = (int)Math.Min(_pattern.Length, remaining);
            await LoopbackConnector.SendAllAsync(socket, _pattern.AsMemory(0, chunk), cancellationToken);
            remaining -= chunk;
        }
    }

    private async Task<long> ReceiveAsync(Socket socket, long totalBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        try
        {
            long received = 0;
            var phase = 0;
            while (received < totalBytes)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    throw new EndOfStreamException($"Server closed the connection after echoing {received} of {totalBytes} bytes.");
                }

                if (VerifyContent && !EchoPayload.ContinuesRepetition(buffer.AsSpan(0, n), _pattern, ref phase))
                {
                    throw new InvalidDataException($"Echoed bytes differ from the bytes sent (after {received} bytes).");
                }

                received += n;
                if (received > totalBytes)
                {
                    throw new InvalidDataException($"Server echoed {received} bytes but only {totalBytes} were sent.");
                }
            }

            return received;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
