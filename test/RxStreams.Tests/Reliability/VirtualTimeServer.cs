using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Reactive.Testing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Reliability;

/// <summary>
/// The set-up the virtual-time timeout tests share: a loopback server whose timeouts run on a <see cref="TestScheduler"/>,
/// every accepted connection queued in <see cref="Accepted"/>, and one raw client already connected and accepted.
/// Disposal closes the client, unsubscribes and aborts the server, in that order.
/// </summary>
internal sealed class VirtualTimeServer : IAsyncDisposable
{
    private readonly IAsyncDisposable _abort;
    private readonly IDisposable _subscription;

    private VirtualTimeServer(TestScheduler scheduler, StreamServer server, IAsyncDisposable abort, Channel<StreamConnection> accepted, IDisposable subscription)
    {
        Scheduler = scheduler;
        Server = server;
        _abort = abort;
        Accepted = accepted;
        _subscription = subscription;
    }

    public TestScheduler Scheduler { get; }

    public StreamServer Server { get; }

    /// <summary>Connections in the order the server accepted them; the first one is <see cref="Connection"/>.</summary>
    public Channel<StreamConnection> Accepted { get; }

    /// <summary>The raw socket connected by <see cref="StartAsync"/>.</summary>
    public Socket Client { get; private set; } = null!;

    /// <summary>The server side of <see cref="Client"/>.</summary>
    public StreamConnection Connection { get; private set; } = null!;

    /// <summary>Starts the server with <paramref name="options"/> (its scheduler replaced by a fresh TestScheduler) and connects one client.</summary>
    public static async Task<VirtualTimeServer> StartAsync(ServerOptions options)
    {
        var scheduler = new TestScheduler();
        options.Scheduler = scheduler;
        var server = await Streams.StartServerAsync("127.0.0.1", 0, options).Within();
        var abort = ReliabilityKit.AbortOnDispose(server);
        var accepted = Channel.CreateUnbounded<StreamConnection>();
        var run = new VirtualTimeServer(scheduler, server, abort, accepted, server.Subscribe(c => accepted.Writer.TryWrite(c)));
        try
        {
            (run.Client, run.Connection) = await run.ConnectAsync();
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    /// <summary>Connects one more raw client and waits for the server to accept it.</summary>
    public async Task<(Socket Client, StreamConnection Connection)> ConnectAsync()
    {
        var client = await Loopback.ConnectRawAsync(Server.EndPoints[0]);
        return (client, await Accepted.Reader.ReadAsync().AsTask().Within());
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        _subscription.Dispose();
        await _abort.DisposeAsync();
    }
}
