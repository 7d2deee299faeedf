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

    /// <summary>How many clients connect at once, each in its own sequential loop (1: one connection at a time).</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Returns the number of completed connections (always <paramref name="connections"/>).</summary>
    public Task<long> RunAsync(int port, int connections, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(connections);
        ArgumentOutOfRangeException.ThrowIfLessThan(Concurrency, 1);
        return Deadline.RunAsync($"Connect rate ({connections} connections, {Concurrency} at once)", Timeout, async token =>
        {
            // Spread the remainder so the clients' shares differ by at most one connection.
            var counts = await ConcurrentRuns.RunAsync(Concurrency, (i, ct) =>
                RunSequentialAsync(port, (connections / Concurrency) + (i < connections % Concurrency ? 1 : 0), ct), token);
            return counts.Sum();
        }, cancellationToken);
    }

    private async Task<long> RunSequentialAsync(int port, int connections, CancellationToken cancellationToken)
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
