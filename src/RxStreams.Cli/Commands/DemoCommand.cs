using System.CommandLine;

namespace RxStreams.Cli.Commands;

/// <summary><c>rxstreams demo</c>: the seed's echo server and client in one process, printing both transcripts.</summary>
internal static class DemoCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("demo", "Run the seed's echo server and client in one process (the client sends 'Hello World!')");
        command.SetAction((_, cancellationToken) => RunAsync(console.Output, cancellationToken));
        return command;
    }

    /// <summary>The server on a free port of 127.0.0.1, then the seed's client against it.</summary>
    public static async Task RunAsync(TextWriter output, CancellationToken cancellationToken)
    {
        var server = await Streams.StartServerAsync(SeedExamples.HandleEcho(output), "127.0.0.1", 0, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (server.ConfigureAwait(false))
        {
            output.WriteLine($"Serving on {PythonFormat.Address(server.EndPoints[0])}");
            var port = ((System.Net.IPEndPoint)server.EndPoints[0]).Port;
            await SeedExamples.TcpEchoClientAsync("Hello World!", "127.0.0.1", port, output, cancellationToken).ConfigureAwait(false);
        }
    }
}
