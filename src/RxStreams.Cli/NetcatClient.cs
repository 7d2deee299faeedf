namespace RxStreams.Cli;

/// <summary>
/// <c>rxstreams connect</c>: a netcat-like client over TCP, a Unix socket, or TLS. Standard input goes to the socket
/// (with drain, so a slow peer pushes back on the pipe), the socket goes to standard output; the end of standard input
/// half-closes the connection (write_eof: FIN, or close_notify then FIN on TLS), and the command exits when the peer
/// closes its side.
/// </summary>
internal static class NetcatClient
{
    public static async Task RunAsync(string? unixPath, string host, int port, TlsClientOptions? tls, Stream input, Stream output, CancellationToken cancellationToken)
    {
        var options = new ConnectionOptions { Tls = tls };
        var connection = unixPath is null
            ? await Streams.OpenConnectionAsync(host, port, options, cancellationToken).ConfigureAwait(false)
            : await Streams.OpenUnixConnectionAsync(unixPath, options, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var (reader, writer) = connection;

            // Standard input blocks a thread on most platforms: it gets its own, and is abandoned when the peer closes first.
            var pump = Task.Run(() => PumpAsync(input, writer, cancellationToken), CancellationToken.None);
            _ = pump.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

            await foreach (var chunk in reader.ReadChunksAsync(cancellationToken).ConfigureAwait(false))
            {
                await output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task PumpAsync(Stream input, ConnectionWriter writer, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            int read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            writer.Write(buffer.AsSpan(0, read));
            await writer.DrainAsync(cancellationToken).ConfigureAwait(false);
        }

        writer.WriteEof();
    }
}
