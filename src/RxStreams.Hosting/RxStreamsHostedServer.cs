using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace RxStreams.Hosting;

/// <summary>
/// One RxStreams server run by the Generic Host: started with the host, shut down gracefully when the host stops.
/// Registered by <see cref="RxStreamsServiceCollectionExtensions.AddRxStreamsServer(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Microsoft.Extensions.Configuration.IConfiguration, Func{ConnectionReader, ConnectionWriter, Task})"/>;
/// resolve it as a keyed service (its name is the key) to read <see cref="Server"/>'s endpoints.
/// </summary>
/// <remarks>
/// <para>
/// <b>Start.</b> Binds and listens with <see cref="RxStreamsServerOptions"/> (TCP on <see cref="RxStreamsServerOptions.Hosts"/>
/// and <see cref="RxStreamsServerOptions.Port"/>, or <see cref="RxStreamsServerOptions.UnixPath"/>), then hands every
/// accepted connection to the handler. The defaults are safe: no port and no path (a missing or misnamed configuration
/// section) or a key the options do not have (a misspelling) fails the start, naming the server and the key; a port
/// without hosts listens on loopback only; every interface only with <c>"*"</c>. A port in use makes the host fail to
/// start, with the server's name in the error.
/// </para>
/// <para>
/// <b>Stop</b> (the host is stopping): the server stops listening at once; every connection is told to finish
/// (<see cref="StreamConnection.CloseRequested"/>, also on <see cref="ConnectionWriter.CloseRequested"/>); the host
/// waits for them until <see cref="RxStreamsServerOptions.ShutdownGrace"/> or the host's own shutdown deadline
/// (the token <see cref="StopAsync"/> gets), whichever comes first; then the rest are aborted (reset), and stopping
/// completes when every connection is closed.
/// </para>
/// <para>
/// <b>Errors and logs.</b> A handler that throws loses its own connection (aborted), never the server. The library logs
/// through the host's <see cref="ILoggerFactory"/> (<see cref="ConnectionOptions.LoggerFactory"/>, category
/// <c>RxStreams.Server</c>, each message starting with the server's name): its start and close, handler failures at
/// <see cref="LogLevel.Error"/>, accept errors at <see cref="LogLevel.Warning"/>, PROXY headers and TLS handshakes
/// that failed at <see cref="LogLevel.Debug"/> (a peer's fault, not the service's), a lost listening socket at
/// <see cref="LogLevel.Error"/>.
/// </para>
/// </remarks>
public sealed partial class RxStreamsHostedServer : IHostedService, IAsyncDisposable
{
    private readonly string _name;
    private readonly IConfiguration _configuration;
    private readonly IOptionsMonitor<RxStreamsServerOptions> _options;
    private readonly Func<StreamServer, IDisposable> _attachHandler;
    private readonly ILogger _logger;
    private readonly ILoggerFactory? _loggerFactory;
    private StreamServer? _server;
    private IDisposable? _handling;

    internal RxStreamsHostedServer(string name, IConfiguration configuration, IOptionsMonitor<RxStreamsServerOptions> options, Func<StreamServer, IDisposable> attachHandler, ILoggerFactory? loggerFactory)
    {
        _name = name;
        _configuration = configuration;
        _options = options;
        _attachHandler = attachHandler;
        _loggerFactory = loggerFactory;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("RxStreams.Hosting." + name);
    }

    /// <summary>The server's name (its configuration key and its service key).</summary>
    public string Name => _name;

    /// <summary>The running server (its <see cref="StreamServer.EndPoints"/> tell the bound ports).</summary>
    /// <exception cref="InvalidOperationException">The host has not started it yet.</exception>
    public StreamServer Server => _server ?? throw new InvalidOperationException($"RxStreams server '{_name}' is not started.");

    /// <summary>Binds, listens and starts handing connections to the handler.</summary>
    /// <param name="cancellationToken">Cancels resolving the host names.</param>
    /// <returns>A task that completes when the server is listening.</returns>
    /// <exception cref="InvalidOperationException">
    /// The options are invalid (no <see cref="RxStreamsServerOptions.Port"/> nor <see cref="RxStreamsServerOptions.UnixPath"/>,
    /// an unknown key, a value out of range), or the server is already started.
    /// </exception>
    /// <exception cref="InvalidOperationException">
    /// Also when a host name does not resolve or binding fails (for example the port is in use): the message names the
    /// server and where it tried to listen, and <see cref="Exception.InnerException"/> is the <see cref="System.Net.Sockets.SocketException"/>.
    /// </exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            throw new InvalidOperationException($"RxStreams server '{_name}' is already started.");
        }

        RxStreamsServerOptions settings;
        try
        {
            settings = _options.Get(_name);
        }
        catch (InvalidOperationException error)
        {
            // Binding failed: a key the options do not have (a misspelling: "Prot"), or a value of the wrong type.
            throw new InvalidOperationException($"RxStreams server '{_name}': {error.Message}", error);
        }

        var serverOptions = settings.ToServerOptions(_name, _loggerFactory is null ? null : new ServerNamedLoggerFactory(_loggerFactory, _name));
        StreamServer server;
        try
        {
            server = await ListenAsync(settings, serverOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException error)
        {
            throw new InvalidOperationException($"RxStreams server '{_name}': {error.Message}", error);
        }
        catch (System.Net.Sockets.SocketException error)
        {
            // A bare "Address already in use" or "Name or service not known" names neither the server nor the address.
            string where = settings.UnixPath ?? $"{(settings.Hosts.Count == 0 ? "loopback" : string.Join(", ", settings.Hosts))} port {settings.Port}";
            throw new InvalidOperationException($"RxStreams server '{_name}' cannot listen on {where}: {error.Message}", error);
        }

        _handling = _attachHandler(server);
        _server = server;
        LogStarted(_logger, _name, string.Join(", ", server.EndPoints));
    }

    /// <summary>
    /// Stops listening, asks every connection to finish, waits for them up to the grace period or until
    /// <paramref name="cancellationToken"/> (the host's shutdown deadline), then aborts the rest.
    /// </summary>
    /// <param name="cancellationToken">Signalled when the host's shutdown deadline passes: connections still open are aborted then.</param>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not { } server)
        {
            return;
        }

        // No grace of our own: wait as long as the host does (its token ends the wait); a day only stands for "no limit".
        var grace = _options.Get(_name).ShutdownGrace ?? TimeSpan.FromDays(1);
        int open = server.ConnectionCount;
        LogStopping(_logger, _name, open);
        await server.ShutdownAsync(grace, cancellationToken).ConfigureAwait(false);
        _handling?.Dispose();
    }

    /// <summary>Aborts whatever is still open (the host normally stops the server first). Idempotent.</summary>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            await server.ShutdownAsync(TimeSpan.Zero).ConfigureAwait(false);
        }

        _handling?.Dispose();
    }

    [LoggerMessage(1, LogLevel.Information, "RxStreams server '{Name}' listening on {EndPoints}")]
    private static partial void LogStarted(ILogger logger, string name, string endPoints);

    [LoggerMessage(2, LogLevel.Information, "RxStreams server '{Name}' stopping: {Open} connection(s) asked to finish")]
    private static partial void LogStopping(ILogger logger, string name, int open);
}
