using System.Globalization;
using RxStreams.Benchmarks.Baselines;

namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// The load shapes of the end-to-end benchmarks, the same ones an outside harness runs against
/// <c>rxstreams echo --lines</c> and the raw Socket + Pipelines floor (issue 15's table).
/// </summary>
internal static class LoadShapes
{
    /// <summary>
    /// Environment variable: MiB per bulk run (default <see cref="DefaultBulkMiB"/>; the outside harness sends 512).
    /// </summary>
    public const string BulkSizeVariable = "RXSTREAMS_BENCH_BULK_MIB";

    public const int DefaultBulkMiB = 256;

    /// <summary>The line length of the bulk-of-lines shape, '\n' included.</summary>
    public const int LongLineLength = 16 * 1024;

    private const double BytesPerMB = 1e6;

    /// <summary>One connection keeping 64 lines of 64 B in flight: per-line cost of a single pipelined stream.</summary>
    public static LoadShape LineEcho1Conn { get; } =
        LineEcho("c1", "line echo, 1 connection x 64 outstanding", connections: 1, outstanding: 64);

    /// <summary>Fifty connections with 16 lines in flight each: many concurrent streams sharing two cores.</summary>
    public static LoadShape LineEcho50Conn { get; } =
        LineEcho("c50", "line echo, 50 connections x 16 outstanding", connections: 50, outstanding: 16);

    /// <summary>One 64 B line in flight on one connection: round-trip latency, nothing to batch.</summary>
    public static LoadShape PingPong { get; } = new(
        "pingpong", "ping-pong, one 64 B line at a time", EchoMode.Lines, "round trip", 5_000,
        (port, verify, ct) => new PingPongClient { VerifyContent = verify }.RunAsync(port, 5_000, ct));

    /// <summary>Raw bytes, no framing, on one connection, sending and receiving at once: the byte path alone.</summary>
    public static LoadShape BulkRaw { get; } =
        Bulk("bulk-raw", "raw bytes", EchoMode.Bulk, EchoPayload.BulkPattern(BulkClient.ChunkSize));

    /// <summary>16 KiB lines on one connection, sending and receiving at once: framing at full throughput.</summary>
    public static LoadShape BulkLines { get; } = Bulk(
        "bulk-lines", "16 KiB lines", EchoMode.Lines, EchoPayload.LongLines(LongLineLength, BulkClient.ChunkSize / LongLineLength));

    /// <summary>Connect, echo one line, close, one client at a time: the per-connection cost alone.</summary>
    public static LoadShape ConnectSequential { get; } =
        Connect("connect", "connect, echo one line, close (1 client)", connections: 500, concurrency: 1);

    /// <summary>Connect, echo one line, close, 8 clients at once: the outside harness's connection churn.</summary>
    public static LoadShape Connect8 { get; } =
        Connect("connect8", "connect, echo one line, close (8 concurrent clients)", connections: 800, concurrency: 8);

    /// <summary>Every shape, by the names <c>--shape</c> takes.</summary>
    public static IReadOnlyList<LoadShape> All { get; } =
        [LineEcho1Conn, LineEcho50Conn, PingPong, BulkRaw, BulkLines, ConnectSequential, Connect8];

    /// <summary>MiB per bulk run, from <see cref="BulkSizeVariable"/>.</summary>
    public static int BulkMiB =>
        int.TryParse(Environment.GetEnvironmentVariable(BulkSizeVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var mib)
        && mib > 0 ? mib : DefaultBulkMiB;

    private static LoadShape LineEcho(string name, string description, int connections, int outstanding)
    {
        const int Lines = 200_000;
        return new(name, description, EchoMode.Lines, "line", Lines,
            (port, verify, ct) => new LineEchoClient { VerifyContent = verify }.RunAsync(port, connections, outstanding, Lines, ct));
    }

    private static LoadShape Bulk(string name, string what, EchoMode mode, byte[] pattern)
    {
        // A whole number of MiB is a whole number of 64 KiB patterns, so the bytes end on a line end.
        long bytes = BulkMiB * 1024L * 1024;
        var description = $"bulk: {BulkMiB} MiB of {what} on 1 connection, sending and receiving concurrently";
        return new(name, description, mode, "MB", bytes / BytesPerMB,
            (port, verify, ct) => new BulkClient(pattern) { VerifyContent = verify }.RunAsync(port, bytes, ct));
    }

    private static LoadShape Connect(string name, string description, int connections, int concurrency) =>
        new(name, description, EchoMode.Lines, "connection", connections,
            (port, verify, ct) => new ConnectRateClient { VerifyContent = verify, Concurrency = concurrency }.RunAsync(port, connections, ct));
}
