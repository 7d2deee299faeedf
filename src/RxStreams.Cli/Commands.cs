namespace RxStreams.Cli;

/// <summary>What each command does.</summary>
internal static class Commands
{
    /// <summary>The seed's server and client in one process: the server on a free port, the client sending 'Hello World!'.</summary>
    public static async Task DemoAsync(TextWriter output, CancellationToken cancellationToken)
    {
        var server = await Streams.StartServerAsync(SeedExamples.HandleEcho(output), "127.0.0.1", 0, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (server.ConfigureAwait(false))
        {
            output.WriteLine($"Serving on {PythonFormat.Address(server.EndPoints[0])}");
            var port = ((System.Net.IPEndPoint)server.EndPoints[0]).Port;
            await SeedExamples.TcpEchoClientAsync("Hello World!", "127.0.0.1", port, output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The seed's echo server (or, with <paramref name="lines"/>, a line echo server) until Ctrl+C. <paramref name="options"/>
    /// carries server settings from flags (<c>--tls-cert</c>, <c>--proxy-protocol</c>, the timeouts).
    /// </summary>
    public static async Task EchoAsync(string? unixPath, string host, int port, bool lines, ServerOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var server = unixPath is null
            ? await Streams.StartServerAsync(host, port, options, cancellationToken).ConfigureAwait(false)
            : await Streams.StartUnixServerAsync(unixPath, options, cancellationToken).ConfigureAwait(false);
        var subscription = lines ? SeedExamples.ServeLineEcho(server) : server.Serve(SeedExamples.HandleEcho(output));
        using var errors = server.Errors.Subscribe(static error => Console.Error.WriteLine($"rxstreams: {error.Message}")); // e.g. a refused PROXY header

        output.WriteLine($"Serving on {(unixPath is null ? PythonFormat.Address(server.EndPoints[0]) : PythonFormat.Repr(unixPath))}");
        output.Flush();
        try
        {
            await server.ServeForeverAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: stop listening, give connections a moment to finish, then reset the rest.
        }
        finally
        {
            subscription.Dispose();
            await server.ShutdownAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>A TCP proxy until Ctrl+C.</summary>
    public static async Task ProxyAsync(string listenHost, int listenPort, string toHost, int toPort, ServerOptions options, TextWriter output, TextWriter log, CancellationToken cancellationToken)
    {
        var server = await Streams.StartServerAsync(listenHost, listenPort, options, cancellationToken).ConfigureAwait(false);
        using var forwarding = Proxy.Forward(server, toHost, toPort, log);
        output.WriteLine($"Proxying {PythonFormat.Address(server.EndPoints[0])} to {toHost}:{toPort}");
        output.Flush();
        try
        {
            await server.ServeForeverAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: stop listening, then give open connections a moment before resetting them.
        }
        finally
        {
            await server.ShutdownAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The seed's echo client.</summary>
    public static Task SendAsync(string? unixPath, string host, int port, string message, TlsClientOptions? tls, TextWriter output, CancellationToken cancellationToken)
    {
        var options = new ConnectionOptions { Tls = tls };
        return unixPath is null
            ? SeedExamples.EchoClientAsync(message, Streams.OpenConnectionAsync(host, port, options, cancellationToken), output, cancellationToken)
            : SeedExamples.EchoClientAsync(message, Streams.OpenUnixConnectionAsync(unixPath, options, cancellationToken), output, cancellationToken);
    }
}
