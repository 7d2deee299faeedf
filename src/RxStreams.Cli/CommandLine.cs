using System.Globalization;
using System.Net.Sockets;

namespace RxStreams.Cli;

/// <summary>Parses the command line and runs a command.</summary>
internal static class CommandLine
{
    private const string Usage = """
        usage: rxstreams <command> [options]

        commands:
          demo                                   run the seed's echo server and client in one process
          echo (--port P [--host H] | --unix PATH) [--lines]
                                                 the seed's echo server (with --lines: echo every line until the client leaves)
          send (--port P [--host H] | --unix PATH) MESSAGE
                                                 the seed's echo client
          proxy --listen [HOST:]PORT --to HOST:PORT
                                                 a TCP proxy (both directions reader.Subscribe(writer), half-close carried)

        --host defaults to 127.0.0.1. Servers run until Ctrl+C.
        echo and proxy also take --idle-timeout SECONDS (abort a connection silent that long) and
        --frame-timeout SECONDS (abort one that starts a line and does not finish it in time) and
        --max-connections N (accept no more while N are open); all off by default.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Length == 0 ? error : output).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            var options = Options.Parse(args.AsSpan(1));
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };

            // SIGTERM (kill, service managers) stops as gracefully as Ctrl+C: servers close, Unix socket files go.
            using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM,
                context =>
                {
                    context.Cancel = true;
                    stop.Cancel();
                });

            switch (args[0])
            {
                case "demo":
                    options.ExpectNoPositional();
                    await Commands.DemoAsync(output, stop.Token).ConfigureAwait(false);
                    return 0;
                case "echo":
                    options.ExpectNoPositional();
                    await Commands.EchoAsync(options.Unix, options.Host, options.Unix is null ? options.RequirePort() : 0, options.Lines, options.ServerOptions(), output, stop.Token).ConfigureAwait(false);
                    return 0;
                case "proxy":
                    options.ExpectNoPositional();
                    var (listenHost, listenPort) = Options.ParseEndPoint(Options.Require(options.Listen, "--listen"), "127.0.0.1");
                    var (toHost, toPort) = Options.ParseEndPoint(Options.Require(options.To, "--to"), null);
                    await Commands.ProxyAsync(listenHost, listenPort, toHost, toPort, options.ServerOptions(), output, error, stop.Token).ConfigureAwait(false);
                    return 0;
                case "send":
                    await Commands.SendAsync(options.Unix, options.Host, options.Unix is null ? options.RequirePort() : 0, options.SinglePositional("MESSAGE"), output, stop.Token).ConfigureAwait(false);
                    return 0;
                default:
                    throw new UsageException($"unknown command '{args[0]}'");
            }
        }
        catch (UsageException usage)
        {
            error.WriteLine($"rxstreams: {usage.Message}");
            error.WriteLine(Usage);
            return 2;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (Exception failure) when (failure is SocketException or IOException or AggregateException or TimeoutException)
        {
            error.WriteLine($"rxstreams: {failure.Message}");
            return 1;
        }
    }

    /// <summary>A command-line mistake: reported with the usage text and exit code 2.</summary>
    private sealed class UsageException(string message) : Exception(message);

    private sealed class Options
    {
        public string Host { get; private set; } = "127.0.0.1";

        public int? Port { get; private set; }

        public bool Lines { get; private set; }

        public string? Listen { get; private set; }

        public string? Unix { get; private set; }

        public string? To { get; private set; }

        public List<string> Positional { get; } = [];

        public TimeSpan? IdleTimeout { get; private set; }

        public TimeSpan? FrameTimeout { get; private set; }

        /// <summary>The server settings the flags ask for (the defensive timeouts of issue 7).</summary>
        public int? MaxConnections { get; private set; }

        public ServerOptions ServerOptions() => new() { IdleTimeout = IdleTimeout, FrameTimeout = FrameTimeout, MaxConnections = MaxConnections };

        public static Options Parse(ReadOnlySpan<string> args)
        {
            var options = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--host":
                        options.Host = Value(args, ref i);
                        break;
                    case "--port":
                        string text = Value(args, ref i);
                        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
                        {
                            throw new UsageException($"invalid port '{text}'");
                        }

                        options.Port = port;
                        break;
                    case "--unix":
                        options.Unix = Value(args, ref i);
                        break;
                    case "--listen":
                        options.Listen = Value(args, ref i);
                        break;
                    case "--to":
                        options.To = Value(args, ref i);
                        break;
                    case "--lines":
                        options.Lines = true;
                        break;
                    case "--idle-timeout":
                        options.IdleTimeout = Seconds(args, ref i);
                        break;
                    case "--frame-timeout":
                        options.FrameTimeout = Seconds(args, ref i);
                        break;
                    case "--max-connections":
                        string count = Value(args, ref i);
                        options.MaxConnections = int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int max) && max > 0
                            ? max
                            : throw new UsageException($"invalid connection count '{count}'");
                        break;
                    case var flag when flag.StartsWith("--", StringComparison.Ordinal):
                        throw new UsageException($"unknown option '{flag}'");
                    default:
                        options.Positional.Add(args[i]);
                        break;
                }
            }

            return options;
        }

        /// <summary>Parses <c>[HOST:]PORT</c> (IPv6 hosts in brackets: <c>[::1]:8080</c>).</summary>
        public static (string Host, int Port) ParseEndPoint(string text, string? defaultHost)
        {
            int colon = text.LastIndexOf(':');
            string host = colon < 0 ? defaultHost ?? throw new UsageException($"'{text}' needs a host (HOST:PORT)") : text[..colon].Trim('[', ']');
            string portText = colon < 0 ? text : text[(colon + 1)..];
            if (host.Length == 0 || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
            {
                throw new UsageException($"invalid endpoint '{text}' (expected [HOST:]PORT)");
            }

            return (host, port);
        }

        public static string Require(string? value, string name) => value ?? throw new UsageException($"{name} is required");

        public int RequirePort() => Port ?? throw new UsageException("--port is required");

        public void ExpectNoPositional()
        {
            if (Positional.Count > 0)
            {
                throw new UsageException($"unexpected argument '{Positional[0]}'");
            }
        }

        public string SinglePositional(string name) => Positional.Count == 1
            ? Positional[0]
            : throw new UsageException($"expected one {name} argument");

        private static TimeSpan Seconds(ReadOnlySpan<string> args, ref int i)
        {
            string text = Value(args, ref i);
            return double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && seconds < TimeSpan.MaxValue.TotalSeconds
                ? TimeSpan.FromSeconds(seconds)
                : throw new UsageException($"invalid number of seconds '{text}' for {args[i - 1]}");
        }

        private static string Value(ReadOnlySpan<string> args, ref int i) =>
            ++i < args.Length ? args[i] : throw new UsageException($"{args[i - 1]} needs a value");
    }
}
