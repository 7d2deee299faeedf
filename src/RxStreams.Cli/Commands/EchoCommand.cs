using System.CommandLine;
using RxStreams.Cli.Options;

namespace RxStreams.Cli.Commands;

/// <summary><c>rxstreams echo</c>: the seed's echo server (or, with <c>--lines</c>, a line echo server) until Ctrl+C or SIGTERM.</summary>
internal static class EchoCommand
{
    public static Command Create(CliConsole console)
    {
        var endPoint = new EndPointOptions();
        var server = new ServerFlagOptions();
        var lines = new Option<bool>("--lines") { Description = "Echo every line for as long as the client stays (instead of the seed's one read of 100 bytes)" };
        var command = new Command("echo", "The seed's echo server: print what each client sends, send it back, close");
        endPoint.AddTo(command);
        command.Options.Add(lines);
        server.AddTo(command);
        command.SetAction((result, cancellationToken) =>
            RunAsync(endPoint.Read(result), result.GetValue(lines), server.Read(result), console, cancellationToken));
        return command;
    }

    /// <summary>Serves until <paramref name="cancellationToken"/> fires, then closes and gives connections 2 s to finish.</summary>
    public static async Task RunAsync(Target target, bool lines, ServerOptions options, CliConsole console, CancellationToken cancellationToken)
    {
        var server = await target.ListenAsync(options, cancellationToken).ConfigureAwait(false);
        var subscription = lines ? SeedExamples.ServeLineEcho(server) : server.Serve(SeedExamples.HandleEcho(console.Output));
        var errorLog = new ServerErrorLog(console.Error, options.Scheduler);
        using var errors = server.Errors.Subscribe(errorLog.Write); // e.g. a refused PROXY header: escaped, bounded

        console.Output.WriteLine($"Serving on {(target.UnixPath is null ? PythonFormat.Address(server.EndPoints[0]) : PythonFormat.Repr(target.UnixPath))}");
        console.Output.Flush();
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
            errorLog.Flush();
        }
    }
}
