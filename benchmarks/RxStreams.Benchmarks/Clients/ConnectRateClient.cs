namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// Connection churn: N times in a row, connect, send one line, read its echo, close. This measures the
/// per-connection cost of a server (accept, per-connection state, first read, teardown) rather than
/// steady-state throughput. The client closes first, so TIME_WAIT stays on the client side, and Linux
/// reuses TIME_WAIT ports for loopback connections, so long runs do not exhaust ephemeral ports.
/// </summary>
internal sealed class ConnectRateClient
{
    public TimeSpan Timeout { get; init; } = Deadline.DefaultTimeout;

    public bool VerifyContent { get; init; }

    /// <summary>Returns the number of completed connections (always <paramref name="connections"/>).</summary>
    public Task<long> RunAsync(int port, int connections, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(connections);
        return Deadline.RunAsync($"Connect rate ({connections} connections)", Timeout, token => RunCoreAsync(port, connections, token), cancellationToken);
    }

    private async Task<long> RunCoreAsync(int port, int connections, CancellationToken cancellationToken)
    {
        var line = EchoPayload.Lines(1);
        var reply = new byte[EchoPayload.LineLength];
        for (var i = 0; i < connections; i++)
        {
            using var socket = await LoopbackConnector.ConnectAsync(port, cancellationToken);
            await LoopbackConnector.SendAllAsync(socket, line, cancellationToken);
            await PingPongClient.ReceiveExactlyAsync(socket, reply, cancellationToken);
            if (VerifyContent && !reply.AsSpan().SequenceEqual(line))
            {
                throw new InvalidDataException($"Connection {i}: the echo differs from the line sent.");
            }
        }

        return connections;
    }
}
