using System.CommandLine;
using RxStreams.Cli.Options;
using RxStreams.Cli.Progress;

namespace RxStreams.Cli.Commands;

/// <summary>
/// <c>rxstreams send</c>: the seed's echo client with a MESSAGE (its output byte for byte), or with <c>--file F</c> a
/// file transfer: the file's bytes, then a half-close, while everything the peer sends back goes to standard output as
/// raw bytes, netcat-style, until the peer closes (so <c>send --file F &gt; copy</c> against <c>echo --lines</c> gives
/// the file back). The progress display (<see cref="ProgressOptions"/>) applies to <c>--file</c> only: a MESSAGE is one
/// small write. <c>--timeout</c> (<see cref="ReplyTimeoutOptions"/>) keeps either from waiting forever.
/// </summary>
internal static class SendCommand
{
    public static Command Create(CliConsole console)
    {
        var endPoint = new EndPointOptions();
        var tls = new ClientTlsOptions();
        var progress = new ProgressOptions();
        var timeout = new ReplyTimeoutOptions();
        var message = new Argument<string?>("MESSAGE") { Description = "The text to send (the seed sends 'Hello World!')", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<string?>("--file")
        {
            Description = "Send this file's bytes instead of a MESSAGE, half-close, and copy what comes back to stdout",
            HelpName = "FILE",
        };
        var command = new Command("send", "The seed's echo client: send MESSAGE, print the reply; or send a file with --file");
        endPoint.AddTo(command);
        tls.AddTo(command);
        command.Arguments.Add(message);
        command.Options.Add(file);
        progress.AddTo(command);
        timeout.AddTo(command);
        command.Validators.Add(result =>
        {
            if ((result.GetResult(message) is { Tokens.Count: > 0 }) == (result.GetResult(file) is not null))
            {
                result.AddError("expected one MESSAGE argument or --file FILE");
            }
        });
        command.SetAction((result, cancellationToken) =>
        {
            var target = endPoint.Read(result);
            var options = new ConnectionOptions { Tls = tls.Read(result) };
            return result.GetValue(file) is string path
                ? SendFileAsync(target, options, path, timeout.Read(result), progress.Read(result, console.ErrorIsTerminal), console, cancellationToken)
                : SendMessageAsync(target, options, result.GetValue(message)!, timeout.Read(result), console, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// The seed's client exchange, bounded by <paramref name="timeout"/> as a whole (connect, send, reply, close): on
    /// expiry the connection is reset and the command fails with one line ("no reply within 30 s").
    /// </summary>
    public static async Task SendMessageAsync(Target target, ConnectionOptions options, string message, TimeSpan? timeout, CliConsole console, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } limit)
        {
            deadline.CancelAfter(limit);
        }

        StreamConnection? connection = null;
        try
        {
            connection = await target.ConnectAsync(options, deadline.Token).ConfigureAwait(false);
            await SeedExamples.EchoClientAsync(message, Task.FromResult(connection), console.Output, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            // Nothing more to say to a peer that failed or never answered: a reset, not a close that could wait for it.
            connection?.Abort();
            if (failure is OperationCanceledException && timeout is { } expired && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(connection is null
                    ? $"could not connect to {target.Describe()} within {ReplyTimeoutOptions.Format(expired)} (--timeout)"
                    : $"no reply from {target.Describe()} within {ReplyTimeoutOptions.Format(expired)} (--timeout)");
            }

            throw;
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Sends the file and copies the reply to standard output until the peer closes. A missing file fails before any
    /// connection is made; a peer that resets the connection before taking every byte is a failure (exit code 1).
    /// <paramref name="timeout"/> bounds connecting and, after that, each stretch with no byte sent or received
    /// (<see cref="ConnectionOptions.IdleTimeout"/>), not the transfer as a whole.
    /// </summary>
    public static async Task SendFileAsync(Target target, ConnectionOptions options, string path, TimeSpan? timeout, bool showProgress, CliConsole console, CancellationToken cancellationToken)
    {
        options.ConnectTimeout = timeout;
        options.IdleTimeout = timeout;
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            var connection = await target.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var display = showProgress ? new TransferProgress(console.Error, file.Length, console.ErrorIsTerminal, console.Scheduler) : null;
                var sending = StreamPump.SendAllAsync(file, connection.Writer, display, cancellationToken);
                var receiving = CopyToAsync(connection.Reader, console.OpenRawOutput(), cancellationToken);

                // Both directions run at once (an echo peer sends back while we send), and both failures are observed.
                try
                {
                    await Task.WhenAll(sending, receiving).ConfigureAwait(false);
                }
                catch (Exception) when (timeout is { } idle && connection.Error is TimeoutException)
                {
                    throw new TimeoutException($"nothing sent to or received from {target.Describe()} for {ReplyTimeoutOptions.Format(idle)} (--timeout)");
                }
            }
        }
    }

    private static async Task CopyToAsync(ConnectionReader reader, Stream output, CancellationToken cancellationToken)
    {
        await foreach (var chunk in reader.ReadChunksAsync(cancellationToken).ConfigureAwait(false))
        {
            await output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
