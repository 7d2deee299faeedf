using System.CommandLine;

namespace RxStreams.Cli.Options;

/// <summary>
/// A server's <c>--tls-cert FILE [--tls-key FILE]</c>, <c>--proxy-protocol</c>, <c>--idle-timeout S</c>,
/// <c>--frame-timeout S</c>, <c>--max-connections N</c>, <c>--backlog N</c>, <c>--reuse-port</c> and <c>--thread-pool</c> (echo and proxy). The certificate is loaded when the command runs, so a bad file is a runtime
/// failure (exit code 1), not a usage error.
/// </summary>
/// <remarks>
/// The tool's own handlers (echo, forwarding) never block, so its servers run on the library's event loops by default
/// (<see cref="ConnectionOptions.PreferEventLoop"/>, Linux x64; ADR 0016); <c>--thread-pool</c> serves them from .NET's
/// socket engine instead, the library's default.
/// </remarks>
internal sealed class ServerFlagOptions
{
    private readonly Option<string?> _tlsCertificate = new("--tls-cert")
    {
        Description = "Serve TLS with this certificate: a PFX file, or PEM (its key in --tls-key, or in the same file)",
        HelpName = "FILE",
    };

    private readonly Option<string?> _tlsKey = new("--tls-key")
    {
        Description = "The PEM private key of --tls-cert",
        HelpName = "FILE",
    };

    private readonly Option<bool> _proxyProtocol = new("--proxy-protocol")
    {
        Description = "Every connection starts with a PROXY v1/v2 header (nginx proxy_protocol, HAProxy send-proxy)",
    };

    private readonly Option<TimeSpan?> _idleTimeout = new("--idle-timeout")
    {
        Description = "Abort a connection silent this long (default: off)",
        HelpName = "SECONDS",
        CustomParser = OptionParsers.Seconds,
    };

    private readonly Option<TimeSpan?> _frameTimeout = new("--frame-timeout")
    {
        Description = "Abort a connection that starts a line and does not finish it this fast (default: off)",
        HelpName = "SECONDS",
        CustomParser = OptionParsers.Seconds,
    };

    private readonly Option<int?> _maxConnections = new("--max-connections")
    {
        Description = "Hold at most N connections; more wait in the backlog (default: derived from the open-file limit, RLIMIT_NOFILE minus headroom)",
        HelpName = "N",
        CustomParser = OptionParsers.PositiveCount,
    };

    private readonly Option<int?> _backlog = new("--backlog")
    {
        Description = "How many connections the OS queues before they are accepted (default: 100, as asyncio; the OS may cap it, on Linux at net.core.somaxconn)",
        HelpName = "N",
        CustomParser = OptionParsers.PositiveCount,
    };

    private readonly Option<bool> _reusePort = new("--reuse-port")
    {
        Description = "SO_REUSEPORT: several processes may listen on the same port and share its connections",
    };

    private readonly Option<bool> _threadPool = new("--thread-pool")
    {
        Description = "Serve from .NET's socket engine and the thread pool (the library's default) instead of RxStreams' event loops (this tool's default on Linux x64)",
    };

    /// <summary>Adds the options, and the rule that --tls-key needs --tls-cert, to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_tlsCertificate);
        command.Options.Add(_tlsKey);
        command.Options.Add(_proxyProtocol);
        command.Options.Add(_idleTimeout);
        command.Options.Add(_frameTimeout);
        command.Options.Add(_maxConnections);
        command.Options.Add(_backlog);
        command.Options.Add(_reusePort);
        command.Options.Add(_threadPool);
        command.Validators.Add(result =>
        {
            if (result.GetResult(_tlsKey) is not null && result.GetResult(_tlsCertificate) is null)
            {
                result.AddError("--tls-key needs --tls-cert");
            }
        });
    }

    /// <summary>The server settings the flags ask for (loads the certificate files, which may throw).</summary>
    public ServerOptions Read(ParseResult result)
    {
        var options = new ServerOptions
        {
            Tls = ReadTls(result.GetValue(_tlsCertificate), result.GetValue(_tlsKey)),
            ProxyProtocol = result.GetValue(_proxyProtocol) ? ProxyProtocolMode.Required : ProxyProtocolMode.Off,
            IdleTimeout = result.GetValue(_idleTimeout),
            FrameTimeout = result.GetValue(_frameTimeout),
            MaxConnections = result.GetValue(_maxConnections),
            ReusePort = result.GetValue(_reusePort),
            PreferEventLoop = !result.GetValue(_threadPool),
        };
        if (result.GetValue(_backlog) is { } backlog)
        {
            options.Backlog = backlog;
        }

        return options;
    }

    private static TlsServerOptions? ReadTls(string? certificate, string? key)
    {
        if (certificate is null)
        {
            return null;
        }

        return key is not null || IsPem(certificate)
            ? TlsServerOptions.FromPemFiles(certificate, key)
            : TlsServerOptions.FromPfxFile(certificate);
    }

    private static bool IsPem(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[64];
        int n = file.Read(head);
        return System.Text.Encoding.ASCII.GetString(head[..n]).Contains("-----BEGIN", StringComparison.Ordinal);
    }
}
