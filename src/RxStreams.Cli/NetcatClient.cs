using RxStreams.Cli.Options;
using RxStreams.Cli.Progress;

namespace RxStreams.Cli;

/// <summary>
/// <c>rxstreams connect</c>: a netcat-like client over TCP, a Unix socket, or TLS. Standard input goes to the socket
/// (with drain, so a slow peer pushes back on the pipe), the socket goes to standard output; the end of standard input
/// half-closes the connection (write_eof: FIN, or close_notify then FIN on TLS), and the command exits when the peer
/// closes its side.
/// </summary>
internal static class NetcatClient
{
    public static async Task RunAsync(Target target, TlsClientOptions? tls, Stream input, Stream output, TransferProgress? progress, CancellationToken cancellationToken)
    {
        var connection = await target.ConnectAsync(new ConnectionOptions { Tls = tls }, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var (reader, writer) = connection;

            // Standard input blocks a thread on most platforms: it gets its own, and is abandoned when the peer closes first.
            var pump = Task.Run(() => StreamPump.SendAllAsync(input, writer, progress, cancellationToken), CancellationToken.None);
            _ = pump.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

            await foreach (var chunk in reader.ReadChunksAsync(cancellationToken).ConfigureAwait(false))
            {
                await output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
