using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RxStreams;

/// <summary>
/// TLS for a client connection (asyncio's <c>ssl=</c>, <c>server_hostname=</c> and <c>ssl_handshake_timeout=</c> of
/// <c>open_connection</c>): set <see cref="ConnectionOptions.Tls"/>, or pass it to
/// <see cref="ConnectionWriter.StartTlsAsync(TlsClientOptions, CancellationToken)"/>. A new instance is a verifying
/// client: the server's certificate must chain to a root the OS trusts (or one of <see cref="TrustedRoots"/>) and match
/// <see cref="ServerName"/>.
/// </summary>
/// <remarks>
/// Protocol versions and cipher suites are left to the OS defaults (OpenSSL's on Linux), as asyncio's default context
/// does. Anything not covered here can be set on the <see cref="SslClientAuthenticationOptions"/> itself with
/// <see cref="ConfigureAuthentication"/>.
/// </remarks>
public sealed class TlsClientOptions
{
    private TimeSpan _handshakeTimeout = DefaultHandshakeTimeout;

    /// <summary>asyncio's default <c>ssl_handshake_timeout</c>: 60 seconds.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// asyncio's <c>server_hostname</c>: the name sent in SNI and checked against the server's certificate.
    /// <see langword="null"/> (the default) uses the host the connection was opened with; a connection without a host
    /// name (a Unix socket, <c>OpenConnection(socket)</c>) must set it (<see cref="ArgumentException"/> otherwise, as in
    /// asyncio). As in asyncio, the empty string sends no SNI and turns the name check off (the chain is still checked).
    /// </summary>
    public string? ServerName { get; set; }

    /// <summary>A client certificate (with its private key) to present when the server asks for one; none by default.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>ALPN protocols to offer, most preferred first (for example <see cref="SslApplicationProtocol.Http2"/>); none by default.</summary>
    public IList<SslApplicationProtocol> ApplicationProtocols { get; } = new List<SslApplicationProtocol>();

    /// <summary>
    /// Roots to trust instead of the OS store (asyncio's <c>SSLContext.load_verify_locations</c>), for a private CA;
    /// empty (the default) trusts the OS store. Certificates are never downloaded while the chain is built.
    /// </summary>
    public X509Certificate2Collection TrustedRoots { get; } = [];

    /// <summary>
    /// A callback that decides on the server's certificate instead of the default check (it receives the errors the
    /// default check found); <see langword="null"/> by default. Takes precedence over <see cref="TrustedRoots"/>'
    /// verdict but not over <see cref="DangerousAcceptAnyServerCertificate"/>.
    /// </summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>
    /// <b>Disables every check of the server's certificate</b> (asyncio's <c>CERT_NONE</c> with <c>check_hostname=False</c>):
    /// anyone on the path can impersonate the server. For tests and throw-away self-signed certificates only; off by default.
    /// </summary>
    public bool DangerousAcceptAnyServerCertificate { get; set; }

    /// <summary>
    /// asyncio's <c>ssl_handshake_timeout</c>: how long the handshake may take (60 s by default). It runs on the
    /// connection's <see cref="ConnectionOptions.Scheduler"/>, so a <c>TestScheduler</c> can drive it; on expiry the
    /// connection is aborted and the call fails with <see cref="TimeoutException"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _handshakeTimeout = value;
        }
    }

    /// <summary>Adjusts the <see cref="SslClientAuthenticationOptions"/> built from these settings just before each handshake; <see langword="null"/> by default.</summary>
    public Action<SslClientAuthenticationOptions>? ConfigureAuthentication { get; set; }

    /// <summary>The argument check asyncio makes at the call: some server name must be known. Returns it.</summary>
    /// <exception cref="ArgumentException">Neither <see cref="ServerName"/> nor <paramref name="defaultHost"/> is set.</exception>
    internal string Validate(string? defaultHost, string parameterName) =>
        ServerName ?? defaultHost ?? throw new ArgumentException(
            "TlsClientOptions.ServerName must be set when the connection has no host name (asyncio: 'you have to pass server_hostname when using ssl').",
            parameterName);

    /// <summary>Builds the options of one handshake with <paramref name="defaultHost"/> as the name when <see cref="ServerName"/> is not set.</summary>
    internal SslClientAuthenticationOptions Build(string? defaultHost, string parameterName)
    {
        string name = Validate(defaultHost, parameterName);

        var options = new SslClientAuthenticationOptions
        {
            TargetHost = name, // empty: no SNI
            ApplicationProtocols = ApplicationProtocols.Count > 0 ? [.. ApplicationProtocols] : null,
            ClientCertificates = ClientCertificate is { } certificate ? [certificate] : null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (TrustedRoots.Count > 0)
        {
            options.CertificateChainPolicy = Internal.TlsTrust.CustomRootPolicy(TrustedRoots);
        }

        options.RemoteCertificateValidationCallback = Internal.TlsTrust.ServerCheck(
            DangerousAcceptAnyServerCertificate, ServerCertificateValidation, checkName: name.Length > 0);
        ConfigureAuthentication?.Invoke(options);
        return options;
    }
}
