using System.CommandLine;
using RxStreams.Cli.Options;
using RxStreams.Cli.Progress;

namespace RxStreams.Cli.Commands;

/// <summary><c>rxstreams connect</c>: netcat over TCP, a Unix socket or TLS (see <see cref="NetcatClient"/>).</summary>
internal static class ConnectCommand
{
    public static Command Create(CliConsole console)
    {
        var endPoint = new EndPointOptions();
        var tls = new ClientTlsOptions();
        var progress = new ProgressOptions();
        var command = new Command(
            "connect",
            "Netcat-like: stdin to the socket, the socket to stdout; stdin's end half-closes (write_eof), and it exits when the peer closes");
        endPoint.AddTo(command);
        tls.AddTo(command);
        progress.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var input = console.OpenInput();
            using var display = progress.Read(result, console.ErrorIsTerminal)
                ? new TransferProgress(console.Error, input.Length, console.ErrorIsTerminal, console.Scheduler)
                : null;
            await NetcatClient.RunAsync(endPoint.Read(result), tls.Read(result), input.Stream, console.OpenRawOutput(), display, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
