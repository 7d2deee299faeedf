using System.CommandLine;

namespace RxStreams.Cli.Options;

/// <summary>
/// <c>--port P [--host H]</c> or <c>--unix PATH</c>: where a server listens or a client connects. Exactly one of
/// <c>--port</c> and <c>--unix</c> is required; <c>--host</c> defaults to 127.0.0.1 and is ignored with <c>--unix</c>,
/// as before the System.CommandLine rewrite.
/// </summary>
internal sealed class EndPointOptions
{
    private readonly Option<string> _host = new("--host")
    {
        Description = "Host name or address (with --port)",
        HelpName = "HOST",
        DefaultValueFactory = static _ => "127.0.0.1",
    };

    private readonly Option<int?> _port = new("--port")
    {
        Description = "TCP port (servers: 0 picks a free one)",
        HelpName = "PORT",
        CustomParser = OptionParsers.Port,
    };

    private readonly Option<string?> _unix = new("--unix")
    {
        Description = "Unix socket path instead of TCP ('@name': Linux abstract namespace)",
        HelpName = "PATH",
    };

    /// <summary>Adds the three options, and the rule that exactly one of --port and --unix is given, to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_port);
        command.Options.Add(_host);
        command.Options.Add(_unix);
        command.Validators.Add(result =>
        {
            bool port = result.GetResult(_port) is not null;
            bool unix = result.GetResult(_unix) is not null;
            if (port == unix)
            {
                result.AddError(port ? "--port and --unix exclude each other" : "--port or --unix is required");
            }
        });
    }

    /// <summary>The endpoint the parsed flags name.</summary>
    public Target Read(ParseResult result) =>
        new(result.GetValue(_unix), result.GetValue(_host)!, result.GetValue(_port) ?? 0);
}

/// <summary>Where to listen or connect: a Unix socket path, or a TCP host and port.</summary>
internal sealed record Target(string? UnixPath, string Host, int Port)
{
    /// <summary>Opens a client connection to this endpoint.</summary>
    public Task<StreamConnection> ConnectAsync(ConnectionOptions options, CancellationToken cancellationToken) => UnixPath is null
        ? Streams.OpenConnectionAsync(Host, Port, options, cancellationToken)
        : Streams.OpenUnixConnectionAsync(UnixPath, options, cancellationToken);

    /// <summary>The endpoint for messages: <c>127.0.0.1:8888</c>, <c>[::1]:8888</c>, or the Unix path (escaped).</summary>
    public string Describe() => UnixPath is null
        ? (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}")
        : PythonFormat.Repr(UnixPath);

    /// <summary>Starts a server on this endpoint.</summary>
    public Task<StreamServer> ListenAsync(ServerOptions options, CancellationToken cancellationToken) => UnixPath is null
        ? Streams.StartServerAsync(Host, Port, options, cancellationToken)
        : Streams.StartUnixServerAsync(UnixPath, options, cancellationToken);
}
