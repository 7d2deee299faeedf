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
          echo --port P [--host H] [--lines]     the seed's echo server (with --lines: echo every line until the client leaves)
          send --port P [--host H] MESSAGE       the seed's echo client

        --host defaults to 127.0.0.1. Servers run until Ctrl+C.
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

            switch (args[0])
            {
                case "demo":
                    options.ExpectNoPositional();
                    await Commands.DemoAsync(output, stop.Token).ConfigureAwait(false);
                    return 0;
                case "echo":
                    options.ExpectNoPositional();
                    await Commands.EchoAsync(options.Host, options.RequirePort(), options.Lines, output, stop.Token).ConfigureAwait(false);
                    return 0;
                case "send":
                    await Commands.SendAsync(options.Host, options.RequirePort(), options.SinglePositional("MESSAGE"), output, stop.Token).ConfigureAwait(false);
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
        catch (Exception failure) when (failure is SocketException or IOException or AggregateException)
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

        public List<string> Positional { get; } = [];

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
                    case "--lines":
                        options.Lines = true;
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

        private static string Value(ReadOnlySpan<string> args, ref int i) =>
            ++i < args.Length ? args[i] : throw new UsageException($"{args[i - 1]} needs a value");
    }
}
