using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reactive.Linq;
using RxStreams.Cli.Options;

namespace RxStreams.Cli.Commands;

/// <summary>
/// <c>rxstreams record --listen [HOST:]PORT --to HOST:PORT --out FILE</c>: a TCP proxy that logs both directions of
/// every connection, with timestamps, to FILE; RxStreams.Testing's <c>Recording.Load(FILE)</c> turns each connection into
/// a <c>TestScheduler</c> timeline or a generated marble test, so a real client's session becomes a regression test.
/// </summary>
/// <remarks>
/// The file is text, one event per line: <c>SECONDS CONNECTION EVENT [ARGUMENT]</c>, seconds since the recording started
/// (7 decimals); events are <c>open PEER</c>, <c>&gt; data BASE64</c> (client to server), <c>&lt; data BASE64</c> (server
/// to client), <c>&gt; eof</c>, <c>&lt; eof</c>, <c>&gt; reset</c>, <c>&lt; reset</c> and <c>unreachable</c>; lines
/// starting with <c>#</c> are comments. Forwarding is the proxy's: each direction is
/// <c>reader.Subscribe(writer)</c>, so backpressure and half-close carry through.
/// </remarks>
internal static class RecordCommand
{
    public static Command Create(CliConsole console)
    {
        var listen = ForwardingOptions.Listen();
        var to = ForwardingOptions.To();
        var output = new Option<string>("--out")
        {
            Description = "The recording to write (replaced if it exists); RxStreams.Testing's Recording.Load reads it",
            HelpName = "FILE",
            Required = true,
        };
        var command = new Command("record", "A recording TCP proxy: forwards like proxy and logs both directions, timestamped, for replay as a marble test");
        command.Options.Add(listen);
        command.Options.Add(to);
        command.Options.Add(output);
        command.SetAction((result, cancellationToken) =>
            RunAsync(result.GetValue(listen)!, result.GetValue(to)!, result.GetValue(output)!, console, cancellationToken));
        return command;
    }

    /// <summary>Records until <paramref name="cancellationToken"/> fires, then closes and gives connections 2 s to finish.</summary>
    public static async Task RunAsync(HostPort listen, HostPort to, string path, CliConsole console, CancellationToken cancellationToken)
    {
        using var log = new RecordingLog(path, $"rxstreams record --listen {listen.Host}:{listen.Port} --to {to.Host}:{to.Port}");
        var server = await Streams.StartServerAsync(listen.Host, listen.Port, new ServerOptions(), cancellationToken).ConfigureAwait(false);
        int connections = 0;
        using var forwarding = server.Subscribe(inbound => _ = ForwardAsync(inbound, Interlocked.Increment(ref connections), to, log, console.Error));
        console.Output.WriteLine($"Recording {PythonFormat.Address(server.EndPoints[0])} to {to.Host}:{to.Port} into {path}");
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

    private static async Task ForwardAsync(StreamConnection inbound, int id, HostPort to, RecordingLog log, TextWriter errors)
    {
        log.Write(id, "open " + (inbound.RemoteEndPoint?.ToString() ?? "?"));
        StreamConnection outbound;
        try
        {
            outbound = await Streams.OpenConnectionAsync(to.Host, to.Port, new ConnectionOptions { ConnectTimeout = TimeSpan.FromSeconds(10) }).ConfigureAwait(false);
        }
        catch (Exception error) when (error is System.Net.Sockets.SocketException or IOException or AggregateException or TimeoutException)
        {
            log.Write(id, "unreachable");
            await errors.WriteLineAsync($"record: cannot reach {to.Host}:{to.Port}: {error.Message}").ConfigureAwait(false);
            inbound.Abort();
            return;
        }

        Tee(inbound, outbound, id, ">", log);
        Tee(outbound, inbound, id, "<", log);
        _ = inbound.Closed.ContinueWith(static (_, o) => ((StreamConnection)o!).Dispose(), outbound, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _ = outbound.Closed.ContinueWith(static (_, o) => ((StreamConnection)o!).Dispose(), inbound, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>One direction: logged, then written on, inside the reader's dispatch (so backpressure holds).</summary>
    private static void Tee(StreamConnection from, StreamConnection to, int id, string direction, RecordingLog log) =>
        from.Reader
            .Do(
                chunk => log.Write(id, direction + " data " + Convert.ToBase64String(chunk.Span)),
                _ => log.Write(id, direction + " reset"),
                () => log.Write(id, direction + " eof"))
            .Subscribe(to.Writer);

    /// <summary>The recording file: one line per event, flushed as it goes (a recording cut short by a kill is still readable).</summary>
    private sealed class RecordingLog : IDisposable
    {
        private readonly StreamWriter _file;
        private readonly long _started = Stopwatch.GetTimestamp();

        public RecordingLog(string path, string header)
        {
            _file = new StreamWriter(path, append: false) { AutoFlush = true, NewLine = "\n" };
            _file.WriteLine("# rxstreams recording 1");
            _file.WriteLine("# " + header);
        }

        public void Write(int connection, string text)
        {
            var elapsed = Stopwatch.GetElapsedTime(_started);
            var line = string.Create(CultureInfo.InvariantCulture, $"{elapsed.Ticks / TimeSpan.TicksPerSecond}.{elapsed.Ticks % TimeSpan.TicksPerSecond:D7} {connection} {text}");
            lock (_file)
            {
                _file.WriteLine(line);
            }
        }

        public void Dispose()
        {
            lock (_file)
            {
                _file.Dispose();
            }
        }
    }
}
