using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// The "production transport" baseline: Kestrel's socket transport with a raw TCP
/// <see cref="ConnectionHandler"/> (no HTTP). It does the same per-line work as the raw Pipelines server
/// (<see cref="LineFraming"/>, one flush per read), so the difference between the two is Kestrel's
/// transport: its own memory pool, the socket receive/send loops feeding duplex Pipes, and scheduling.
/// </summary>
internal sealed class KestrelLineEchoServer : IEchoServer
{
    private readonly WebApplication _app;

    private KestrelLineEchoServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<IEchoServer> StartAsync(EchoMode mode)
    {
        // The slim builder skips what a TCP handler does not use (HTTPS defaults, IIS, many config sources).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        // Logging costs time per connection and would print into benchmark output.
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.UseKestrel(options =>
            options.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (mode == EchoMode.Bulk)
                {
                    listen.UseConnectionHandler<BulkEchoHandler>();
                }
                else
                {
                    listen.UseConnectionHandler<LineEchoHandler>();
                }
            }));

        var app = builder.Build();
        await app.StartAsync();

        // Kestrel publishes the port the OS picked for a port-0 endpoint through the addresses feature.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("Kestrel did not publish its addresses.");
        var port = new Uri(addresses.Single()).Port;
        return new KestrelLineEchoServer(app, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Line echo over the connection's duplex pipe: frame lines, copy them, flush once per read.</summary>
    internal sealed class LineEchoHandler : ConnectionHandler
    {
        public override async Task OnConnectedAsync(ConnectionContext connection)
        {
            var input = connection.Transport.Input;
            var output = connection.Transport.Output;
            try
            {
                while (true)
                {
                    // No ConnectionClosed token here: Kestrel completes Input when the client closes, and a token that
                    // races with that completion would turn a normal close into an OperationCanceledException.
                    var result = await input.ReadAsync();
                    var buffer = result.Buffer;
                    var consumed = LineFraming.EchoCompleteLines(buffer, output);
                    input.AdvanceTo(consumed, buffer.End);

                    var flush = await output.FlushAsync();
                    if (result.IsCompleted || flush.IsCompleted)
                    {
                        return;
                    }
                }
            }
            catch (Exception e) when (SocketAcceptLoop.IsDisconnect(e)) // includes ConnectionResetException and ConnectionAbortedException
            {
                // The client went away; Kestrel closes the connection when this method returns.
            }
        }
    }

    /// <summary>Bulk echo: every byte straight back, via Kestrel's pipe-to-pipe copy.</summary>
    internal sealed class BulkEchoHandler : ConnectionHandler
    {
        public override async Task OnConnectedAsync(ConnectionContext connection)
        {
            try
            {
                await connection.Transport.Input.CopyToAsync(connection.Transport.Output);
            }
            catch (Exception e) when (SocketAcceptLoop.IsDisconnect(e)) // includes ConnectionResetException and ConnectionAbortedException
            {
                // The client went away.
            }
        }
    }
}
