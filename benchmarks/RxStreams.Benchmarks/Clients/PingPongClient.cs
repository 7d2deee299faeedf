using System.Net.Sockets;

namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// Latency load: one connection, one 64-byte line in flight, N round trips. Each round trip is a send,
/// a server wake-up, an echo and a client wake-up, so this measures per-message overhead with no batching.
/// </summary>
internal sealed class PingPongClient
{
    public TimeSpan Timeout { get; init; } = Deadline.DefaultTimeout;

    public bool VerifyContent { get; init; }

    /// <summary>Returns the number of completed round trips (always <paramref name="roundTrips"/>).</summary>
    public Task<long> RunAsync(int port, long roundTrips, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(roundTrips);
        return Deadline.RunAsync($"Ping-pong ({roundTrips} round trips)", Timeout, token => RunCoreAsync(port, roundTrips, token), cancellationToken);
    }

    private async Task<long> RunCoreAsync(int port, long roundTrips, CancellationToken cancellationToken)
    {
        using var socket = await LoopbackConnector.ConnectAsync(port, cancellationToken);
        var line = EchoPayload.Lines(1);
        var reply = new byte[EchoPayload.LineLength];
        for (long i = 0; i < roundTrips; i++)
        {
            await LoopbackConnector.SendAllAsync(socket, line, cancellationToken);
            await ReceiveExactlyAsync(socket, reply, cancellationToken);
            if (VerifyContent && !reply.AsSpan().SequenceEqual(line))
            {
                throw new InvalidDataException($"Round trip {i}: the echo differs from the line sent.");
            }
        }

        return roundTrips;
    }

    /// <summary>Fills <paramref name="buffer"/>; the echo of one line may arrive in pieces.</summary>
    internal static async ValueTask ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (received == 0)
            {
                throw new EndOfStreamException("Server closed the connection before echoing the whole line.");
            }

            buffer = buffer[received..];
        }
    }
}
