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
          echo (--port P [--host H] | --unix PATH) [--lines] [--tls-cert FILE [--tls-key FILE]] [--proxy-protocol]
                                                 the seed's echo server (with --lines: echo every line until the client leaves;
                                                 with --proxy-protocol: every connection starts with a PROXY v1/v2 header,
                                                 as nginx's proxy_protocol or HAProxy's send-proxy send it)
          send (--port P [--host H] | --unix PATH) [--tls [--insecure] [--sni NAME]] MESSAGE
                                                 the seed's echo client
          connect (--port P [--host H] | --unix PATH) [--tls [--insecure] [--sni NAME]]
                                                 netcat-like: stdin to the socket, the socket to stdout; stdin's end
                                                 half-closes (write_eof), and it exits when the peer closes
          proxy --listen [HOST:]PORT --to HOST:PORT
                                                 a TCP proxy (both directions reader.Subscribe(writer), half-close carried)

        --host defaults to 127.0.0.1. Servers run until Ctrl+C.
        TLS: --tls-cert is a PFX file, or a PEM certificate (its key in --tls-key, or in the same file). Clients verify
        the server's certificate against the system's roots and --sni (default: the host; required with --unix);
        --insecure turns every check off (tests only).
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
                    await Commands.SendAsync(options.Unix, options.Host, options.Unix is null ? options.RequirePort() : 0, options.SinglePositional("MESSAGE"), options.ClientTls(), output, stop.Token).ConfigureAwait(false);
                    return 0;
                case "connect":
                    options.ExpectNoPositional();
                    await NetcatClient.RunAsync(options.Unix, options.Host, options.Unix is null ? options.RequirePort() : 0, options.ClientTls(), Console.OpenStandardInput(), Console.OpenStandardOutput(), stop.Token).ConfigureAwait(false);
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
        catch (Exception failure) when (failure is SocketException or IOException or AggregateException or TimeoutException
                                            or System.Security.Authentication.AuthenticationException or ArgumentException
                                            or System.Security.Cryptography.CryptographicException)
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

        public string? TlsCertificate { get; private set; }

        public string? TlsKey { get; private set; }

        public bool Tls { get; private set; }

        public bool Insecure { get; private set; }

        public string? Sni { get; private set; }

        public bool ProxyProtocol { get; private set; }

        public List<string> Positional { get; } = [];

        public TimeSpan? IdleTimeout { get; private set; }

        public TimeSpan? FrameTimeout { get; private set; }

        public int? MaxConnections { get; private set; }

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
                    case "--tls-cert":
                        options.TlsCertificate = Value(args, ref i);
                        break;
                    case "--tls-key":
                        options.TlsKey = Value(args, ref i);
                        break;
                    case "--tls":
                        options.Tls = true;
                        break;
                    case "--insecure":
                        options.Insecure = true;
                        break;
                    case "--sni":
                        options.Sni = Value(args, ref i);
                        break;
                    case "--proxy-protocol":
                        options.ProxyProtocol = true;
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

        /// <summary>The echo server's TLS settings from <c>--tls-cert</c> / <c>--tls-key</c>; <see langword="null"/> for plaintext.</summary>
        public TlsServerOptions? ServerTls()
        {
            if (Tls || Insecure || Sni is not null)
            {
                throw new UsageException("--tls, --insecure and --sni are client options; a server takes --tls-cert");
            }

            if (TlsCertificate is null)
            {
                return TlsKey is null ? null : throw new UsageException("--tls-key needs --tls-cert");
            }

            return TlsKey is not null || IsPem(TlsCertificate)
                ? TlsServerOptions.FromPemFiles(TlsCertificate, TlsKey)
                : TlsServerOptions.FromPfxFile(TlsCertificate);
        }

        /// <summary>A client's TLS settings from <c>--tls</c>, <c>--insecure</c>, <c>--sni</c>; <see langword="null"/> for plaintext.</summary>
        public TlsClientOptions? ClientTls()
        {
            if (TlsCertificate is not null || TlsKey is not null)
            {
                throw new UsageException("--tls-cert and --tls-key are server options; a client takes --tls");
            }

            if (!Tls)
            {
                // asyncio: 'server_hostname is only meaningful with ssl'.
                return Insecure || Sni is not null ? throw new UsageException("--insecure and --sni are only meaningful with --tls") : null;
            }

            return new TlsClientOptions { ServerName = Sni, DangerousAcceptAnyServerCertificate = Insecure };
        }

        private static bool IsPem(string path)
        {
            using var file = File.OpenRead(path);
            Span<byte> head = stackalloc byte[64];
            int n = file.Read(head);
            return System.Text.Encoding.ASCII.GetString(head[..n]).Contains("-----BEGIN", StringComparison.Ordinal);
        }

        public static string Require(string? value, string name) => value ?? throw new UsageException($"{name} is required");

        /// <summary>The server settings the flags ask for; <see langword="null"/> for the defaults.</summary>
        /// <summary>A server's settings from <c>--tls-cert</c>/<c>--tls-key</c>, <c>--proxy-protocol</c>, <c>--idle-timeout</c> and <c>--frame-timeout</c>.</summary>
        public ServerOptions ServerOptions() => new()
        {
            Tls = ServerTls(),
            ProxyProtocol = ProxyProtocol ? ProxyProtocolMode.Required : ProxyProtocolMode.Off,
            IdleTimeout = IdleTimeout,
            FrameTimeout = FrameTimeout,
            MaxConnections = MaxConnections,
        };

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
