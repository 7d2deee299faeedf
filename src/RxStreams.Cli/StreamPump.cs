using RxStreams.Cli.Progress;

namespace RxStreams.Cli;

/// <summary>Copies a stream into a connection's writer, with drain, then half-closes it.</summary>
internal static class StreamPump
{
    /// <summary>
    /// Sends <paramref name="input"/> to <paramref name="writer"/> until its end, then <c>write_eof</c> (FIN, or
    /// close_notify then FIN on TLS). Each chunk is followed by <c>DrainAsync</c>, so a slow peer pushes back on the
    /// reading and at most the writer's high-water mark is buffered; <paramref name="progress"/> counts a chunk once the
    /// writer took it.
    /// </summary>
    public static async Task SendAllAsync(Stream input, ConnectionWriter writer, TransferProgress? progress, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            writer.Write(buffer.AsSpan(0, read));
            await writer.DrainAsync(cancellationToken).ConfigureAwait(false);
            progress?.Add(read);
        }

        progress?.Complete();
        writer.WriteEof();
    }
}
