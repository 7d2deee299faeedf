using System.CommandLine;

namespace RxStreams.Cli.Options;

/// <summary>A client's <c>--tls [--insecure] [--sni NAME]</c>.</summary>
internal sealed class ClientTlsOptions
{
    private readonly Option<bool> _tls = new("--tls")
    {
        Description = "Speak TLS, verifying the server's certificate against the system's roots",
    };

    private readonly Option<bool> _insecure = new("--insecure")
    {
        Description = "With --tls: accept any server certificate (tests only)",
    };

    private readonly Option<string?> _sni = new("--sni")
    {
        Description = "With --tls: the name sent and checked (default: the host; required with --unix)",
        HelpName = "NAME",
    };

    /// <summary>Adds the options, and the rule that --insecure and --sni need --tls (asyncio: 'server_hostname is only meaningful with ssl').</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_tls);
        command.Options.Add(_insecure);
        command.Options.Add(_sni);
        command.Validators.Add(result =>
        {
            if (!result.GetValue(_tls) && (result.GetValue(_insecure) || result.GetResult(_sni) is not null))
            {
                result.AddError("--insecure and --sni are only meaningful with --tls");
            }
        });
    }

    /// <summary>The TLS settings the flags ask for; <see langword="null"/> for plaintext.</summary>
    public TlsClientOptions? Read(ParseResult result) => result.GetValue(_tls)
        ? new TlsClientOptions { ServerName = result.GetValue(_sni), DangerousAcceptAnyServerCertificate = result.GetValue(_insecure) }
        : null;
}
