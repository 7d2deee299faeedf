using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RxStreams.Hosting;

/// <summary>Registers RxStreams servers with the Generic Host.</summary>
public static class RxStreamsServiceCollectionExtensions
{
    /// <summary>
    /// Runs a server whose connections go to an asyncio-style handler (<c>client_connected_cb</c>): when its task
    /// completes the connection is closed gracefully; when it throws the connection is aborted and the error logged.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="name">The server's name: its options' name and its keyed-service key.</param>
    /// <param name="configuration">
    /// The section its <see cref="RxStreamsServerOptions"/> are bound from (for example <c>configuration.GetSection("RxStreams:Servers:echo")</c>).
    /// It must give a <c>Port</c> or a <c>UnixPath</c> (or a <c>Configure</c> step must), and hold no other keys than the options':
    /// otherwise the host fails to start, naming the server and the key.
    /// </param>
    /// <param name="handler">Handles one connection; it may watch <see cref="ConnectionWriter.CloseRequested"/> to finish when the host stops.</param>
    /// <returns>The options builder, to add <c>Configure</c> or validation steps.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static OptionsBuilder<RxStreamsServerOptions> AddRxStreamsServer(this IServiceCollection services, string name, IConfiguration configuration, Func<ConnectionReader, ConnectionWriter, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return services.AddRxStreamsServer(name, configuration, (server, _) => server.Serve(handler));
    }

    /// <summary>
    /// Runs a server whose connections go to an asyncio-style handler that uses the host's services (a store, a logger,
    /// options): it gets the root <see cref="IServiceProvider"/>; create a scope inside it for scoped services.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="name">The server's name: its options' name and its keyed-service key.</param>
    /// <param name="configuration">The section its <see cref="RxStreamsServerOptions"/> are bound from.</param>
    /// <param name="handler">Handles one connection; see the overload without the provider for its lifetime rules.</param>
    /// <returns>The options builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static OptionsBuilder<RxStreamsServerOptions> AddRxStreamsServer(this IServiceCollection services, string name, IConfiguration configuration, Func<IServiceProvider, ConnectionReader, ConnectionWriter, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return services.AddRxStreamsServer(name, configuration, (server, provider) => server.Serve((reader, writer) => handler(provider, reader, writer)));
    }

    /// <summary>
    /// Runs a server whose connections go to a push-style handler, which owns each connection it gets: for example
    /// <c>c =&gt; c.Reader.Lines().Subscribe(c.Writer)</c>. When it throws, that connection is aborted and the error logged.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="name">The server's name: its options' name and its keyed-service key.</param>
    /// <param name="configuration">The section its <see cref="RxStreamsServerOptions"/> are bound from.</param>
    /// <param name="handler">Takes one connection; it must close or dispose it when done (the host aborts what is left when it stops).</param>
    /// <returns>The options builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static OptionsBuilder<RxStreamsServerOptions> AddRxStreamsServer(this IServiceCollection services, string name, IConfiguration configuration, Action<StreamConnection> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return services.AddRxStreamsServer(name, configuration, (server, _) => server.Subscribe(handler));
    }

    private static OptionsBuilder<RxStreamsServerOptions> AddRxStreamsServer(this IServiceCollection services, string name, IConfiguration configuration, Func<StreamServer, IServiceProvider, IDisposable> attachHandler)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configuration);

        // A key the options do not have is a misspelling ("Prot": 7000) that would otherwise leave a default in place.
        var builder = services.AddOptions<RxStreamsServerOptions>(name).Bind(configuration, binder => binder.ErrorOnUnknownConfiguration = true);
        services.AddKeyedSingleton(name, (provider, _) => new RxStreamsHostedServer(
            name,
            configuration,
            provider.GetRequiredService<IOptionsMonitor<RxStreamsServerOptions>>(),
            server => attachHandler(server, provider),
            provider.GetService<ILoggerFactory>()));
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredKeyedService<RxStreamsHostedServer>(name));
        return builder;
    }
}
