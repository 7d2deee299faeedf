using System.Buffers;
using System.Net.Sockets;

namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// The load generator for line echo: N connections, each keeping K 64-byte lines in flight (pipelining),
/// until a total number of lines has been echoed. Client and server share the machine's cores, so the client
/// is kept cheap: one task per connection that alternates send and receive (safe because at most K lines,
/// a few KiB, are ever unacknowledged, so a send can never block on a full window), a large receive buffer,
/// and lines counted with a vectorised '\n' count rather than parsed.
/// </summary>
internal sealed class LineEchoClient
{
    private const int ReceiveBufferSize = 64 * 1024;

    /// <summary>The whole run fails with <see cref="TimeoutException"/> after this long.</summary>
    public TimeSpan Timeout { get; init; } = Deadline.DefaultTimeout;

    /// <summary>Also check every echoed byte (the smoke test does; benchmarks only count lines and bytes).</summary>
    public bool VerifyContent { get; init; }

    /// <summary>
    /// Opens <paramref name="connections"/> connections, splits <paramref name="totalLines"/> across them and
    /// returns the number of lines echoed (always <paramref name="totalLines"/>; anything else throws).
    /// </summary>
    /// <exception cref="InvalidDataException">The server echoed other bytes than it was sent.</exception>
    /// <exception cref="TimeoutException">The run took longer than <see cref="Timeout"/>.</exception>
    public Task<long> RunAsync(int port, int connections, int outstanding, long totalLines, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outstanding, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(totalLines);

        return Deadline.RunAsync($"Line echo ({connections} connections, {totalLines} lines)", Timeout, async token =>
        {
            // One block of K lines, shared read-only by all connections.
            var block = EchoPayload.Lines(outstanding);
            var counts = await ConcurrentRuns.RunAsync(connections, (i, ct) =>
            {
                // Spread the remainder so the connections' shares differ by at most one line.
                var share = (totalLines / connections) + (i < totalLines % connections ? 1 : 0);
                return RunConnectionAsync(port, block, outstanding, share, ct);
            }, token);
            return counts.Sum();
        }, cancellationToken);
    }

    private async Task<long> RunConnectionAsync(int port, byte[] block, int outstanding, long lines, CancellationToken cancellationToken)
    {
        using var socket = await LoopbackConnector.ConnectAsync(port, cancellationToken);
        var receiveBuffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        try
        {
            long sent = Math.Min(outstanding, lines);
            long echoed = 0;
            long bytes = 0;
            var phase = 0;
            await LoopbackConnector.SendAllAsync(socket, block.AsMemory(0, (int)sent * EchoPayload.LineLength), cancellationToken);

            while (echoed < lines)
            {
                var received = await socket.ReceiveAsync(receiveBuffer.AsMemory(), SocketFlags.None, cancellationToken);
                if (received == 0)
                {
                    throw new EndOfStreamException($"Server closed the connection after echoing {echoed} of {lines} lines.");
                }

                var chunk = receiveBuffer.AsSpan(0, received);
                if (VerifyContent && !EchoPayload.ContinuesRepetition(chunk, EchoPayload.Line, ref phase))
                {
                    throw new InvalidDataException($"Echoed bytes differ from the lines sent (after {bytes} bytes).");
                }

                bytes += received;
                var completed = chunk.Count((byte)'\n');
                echoed += completed;
                if (echoed > sent)
                {
                    throw new InvalidDataException($"Server echoed {echoed} lines but only {sent} were sent.");
                }

                // Refill: every completed echo frees one slot of the K in flight.
                var refill = (int)Math.Min(completed, lines - sent);
                if (refill > 0)
                {
                    await LoopbackConnector.SendAllAsync(socket, block.AsMemory(0, refill * EchoPayload.LineLength), cancellationToken);
                    sent += refill;
                }
            }

            if (bytes != lines * EchoPayload.LineLength)
            {
                throw new InvalidDataException($"Received {bytes} bytes for {lines} lines of {EchoPayload.LineLength} bytes.");
            }

            return echoed;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(receiveBuffer);
        }
    }
}
