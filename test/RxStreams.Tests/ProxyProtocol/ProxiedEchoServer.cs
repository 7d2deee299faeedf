using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// The server the nginx and HAProxy interop tests put behind a proxy: PROXY protocol required, every connection echoed
/// until the peer's EOF, what the first connection's handler saw recorded, and the server's reported errors collected.
/// </summary>
internal sealed class ProxiedEchoServer : IAsyncDisposable
{
    private readonly TaskCompletionSource<(object? Peer, object? ProxyPeer, ProxyProtocolHeader? Header)> _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Exception> _errors = [];
    private IAsyncDisposable _guard = null!;
    private IDisposable _errorLog = null!;

    private ProxiedEchoServer()
    {
    }

    public StreamServer Server { get; private set; } = null!;

    /// <summary>The first connection's <c>peername</c>, <c>proxy_peername</c> and <c>proxy_header</c> extra info.</summary>
    public Task<(object? Peer, object? ProxyPeer, ProxyProtocolHeader? Header)> Seen => _seen.Task;

    /// <summary>The errors the server reported so far (a copy).</summary>
    public Exception[] Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    public static async Task<ProxiedEchoServer> StartAsync()
    {
        var echo = new ProxiedEchoServer();
        echo.Server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                echo._seen.TrySetResult((writer.GetExtraInfo("peername"), writer.GetExtraInfo("proxy_peername"), writer.GetExtraInfo("proxy_header") as ProxyProtocolHeader));
                await foreach (var chunk in reader.ReadChunksAsync())
                {
                    writer.Write(chunk.Span);
                    await writer.DrainAsync();
                }

                writer.WriteEof();
            },
            "127.0.0.1",
            0,
            new ServerOptions { ProxyProtocol = ProxyProtocolMode.Required });
        echo._guard = Loopback.Guard(echo.Server);
        echo._errorLog = echo.Server.Errors.Subscribe(error =>
        {
            lock (echo._errors)
            {
                echo._errors.Add(error);
            }
        });
        return echo;
    }

    public async ValueTask DisposeAsync()
    {
        _errorLog.Dispose();
        await _guard.DisposeAsync();
    }
}
