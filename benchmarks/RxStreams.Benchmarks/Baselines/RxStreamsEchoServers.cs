using System.Net;
using RxStreams.Framing;

namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// RxStreams in push style, exactly as the CLI's <c>rxstreams echo --lines</c> serves (src/RxStreams.Cli/SeedExamples.cs):
/// every accepted connection's lines go straight back to its writer, <c>reader.Lines(limit).Subscribe(writer)</c>. Bulk
/// mode subscribes the writer to the reader's raw chunks. Batching (one send per received chunk) and backpressure come
/// from the library, not from this code, which is the point of measuring it.
/// </summary>
internal sealed class RxStreamsPushEchoServer : IEchoServer
{
    private readonly StreamServer _server;
    private readonly IDisposable _subscription;

    private RxStreamsPushEchoServer(StreamServer server, IDisposable subscription)
    {
        _server = server;
        _subscription = subscription;
        Port = ((IPEndPoint)server.EndPoints[0]).Port;
    }

    public int Port { get; }

    public static async Task<IEchoServer> StartAsync(EchoMode mode)
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        var subscription = mode == EchoMode.Bulk
            ? server.Subscribe(c => c.Reader.Subscribe(c.Writer))
            : server.Subscribe(c => c.Reader.Lines(c.Reader.Limit).Subscribe(c.Writer));
        return new RxStreamsPushEchoServer(server, subscription);
    }

    public async ValueTask DisposeAsync()
    {
        _subscription.Dispose();
        // Clients close their connections at the end of each run, so this normally finds nothing left to close.
        await _server.ShutdownAsync(TimeSpan.FromSeconds(5));
    }
}

/// <summary>
/// RxStreams in pull style: asyncio's <c>start_server(client_connected_cb)</c> with a handler that iterates the lines
/// (<c>await foreach</c>) and writes each, draining only when the writer is paused above its high-water mark, as the
/// asyncio idiom <c>write(); await drain()</c> would if drain were free when not paused. Bulk mode reads up to 64 KiB at a
/// time with <c>ReadAsync(65536)</c> and writes it back.
/// </summary>
internal sealed class RxStreamsPullEchoServer : IEchoServer
{
    private const int BulkReadSize = 64 * 1024;

    private readonly StreamServer _server;

    private RxStreamsPullEchoServer(StreamServer server)
    {
        _server = server;
        Port = ((IPEndPoint)server.EndPoints[0]).Port;
    }

    public int Port { get; }

    public static async Task<IEchoServer> StartAsync(EchoMode mode)
    {
        var server = await Streams.StartServerAsync(mode == EchoMode.Bulk ? EchoBulkAsync : EchoLinesAsync, "127.0.0.1", 0);
        return new RxStreamsPullEchoServer(server);
    }

    private static async Task EchoLinesAsync(ConnectionReader reader, ConnectionWriter writer)
    {
        await foreach (var line in reader)
        {
            writer.Write(line);
            if (writer.IsPaused)
            {
                await writer.DrainAsync();
            }
        }
    }

    private static async Task EchoBulkAsync(ConnectionReader reader, ConnectionWriter writer)
    {
        while (true)
        {
            var chunk = await reader.ReadAsync(BulkReadSize);
            if (chunk.IsEmpty)
            {
                return;
            }

            writer.Write(chunk);
            if (writer.IsPaused)
            {
                await writer.DrainAsync();
            }
        }
    }

    public async ValueTask DisposeAsync() => await _server.ShutdownAsync(TimeSpan.FromSeconds(5));
}
