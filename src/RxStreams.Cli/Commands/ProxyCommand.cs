using System.CommandLine;
using RxStreams.Cli.Options;

namespace RxStreams.Cli.Commands;

/// <summary><c>rxstreams proxy --listen [HOST:]PORT --to HOST:PORT</c>: a TCP proxy until Ctrl+C or SIGTERM.</summary>
internal static class ProxyCommand
{
    public static Command Create(CliConsole console)
    {
        var listen = ForwardingOptions.Listen();
        var to = ForwardingOptions.To();
        var server = new ServerFlagOptions();
        var command = new Command("proxy", "A TCP proxy: both directions reader.Subscribe(writer), half-close carried through");
        command.Options.Add(listen);
        command.Options.Add(to);
        server.AddTo(command);
        command.SetAction((result, cancellationToken) =>
            RunAsync(result.GetValue(listen)!, result.GetValue(to)!, server.Read(result), console, cancellationToken));
        return command;
    }

    /// <summary>Proxies until <paramref name="cancellationToken"/> fires, then closes and gives connections 2 s to finish.</summary>
    public static async Task RunAsync(HostPort listen, HostPort to, ServerOptions options, CliConsole console, CancellationToken cancellationToken)
    {
        var server = await Streams.StartServerAsync(listen.Host, listen.Port, options, cancellationToken).ConfigureAwait(false);
        using var forwarding = Proxy.Forward(server, to.Host, to.Port, console.Error);
        console.Output.WriteLine($"Proxying {PythonFormat.Address(server.EndPoints[0])} to {to.Host}:{to.Port}");
        console.Output.Flush();
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
}
