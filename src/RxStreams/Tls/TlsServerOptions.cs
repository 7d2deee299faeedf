using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RxStreams;

/// <summary>
/// TLS for a server (asyncio's <c>ssl=</c> and <c>ssl_handshake_timeout=</c> of <c>start_server</c>): set
/// <see cref="ServerOptions.Tls"/>, or pass it to <see cref="ConnectionWriter.StartTlsAsync(TlsServerOptions, CancellationToken)"/>.
/// Needs a certificate with its private key: <see cref="Certificate"/>, <see cref="FromPfxFile"/>,
/// <see cref="FromPemFiles"/>, or a <see cref="CertificateSelector"/> that picks one by the SNI name.
/// </summary>
/// <remarks>
/// The handshake of each accepted connection runs before the connection is delivered, off the accept loop, so a slow or
/// silent client never delays others; a failed handshake aborts that connection and is reported on
/// <see cref="StreamServer.Errors"/>. Protocol versions are left to the OS defaults. The certificate's chain is built
/// offline (nothing is downloaded).
/// </remarks>
public sealed class TlsServerOptions
{
    private TimeSpan _handshakeTimeout = TlsClientOptions.DefaultHandshakeTimeout;
    private SslStreamCertificateContext? _context;
    private X509Certificate2? _contextFor;
    private readonly Lock _contextGate = new();

    /// <summary>Creates options without a certificate: set <see cref="Certificate"/> or <see cref="CertificateSelector"/>.</summary>
    public TlsServerOptions()
    {
    }

    /// <summary>Creates options serving <paramref name="certificate"/>.</summary>
    /// <param name="certificate">The server's certificate, with its private key.</param>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    public TlsServerOptions(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        Certificate = certificate;
    }

    /// <summary>The server's certificate, with its private key; <see langword="null"/> until set.</summary>
    /// <exception cref="ArgumentException">Set to a certificate without a private key.</exception>
    public X509Certificate2? Certificate
    {
        get;
        set
        {
            if (value is { HasPrivateKey: false })
            {
                throw new ArgumentException("The server certificate must have its private key.", nameof(value));
            }

            field = value;
        }
    }

    /// <summary>
    /// Picks the certificate by the name the client sent in SNI (<see langword="null"/> when it sent none); returning
    /// <see langword="null"/> falls back to <see cref="Certificate"/>. <see langword="null"/> by default.
    /// </summary>
    public Func<string?, X509Certificate2?>? CertificateSelector { get; set; }

    /// <summary>Whether clients are asked for a certificate; <see cref="ClientCertificateMode.None"/> by default.</summary>
    public ClientCertificateMode ClientCertificates { get; set; } = ClientCertificateMode.None;

    /// <summary>Roots a client certificate must chain to instead of the OS store; empty (the default) uses the OS store.</summary>
    public X509Certificate2Collection TrustedClientRoots { get; } = [];

    /// <summary>A callback that decides on the client's certificate instead of the default check; <see langword="null"/> by default.</summary>
    public RemoteCertificateValidationCallback? ClientCertificateValidation { get; set; }

    /// <summary>
    /// <b>Accepts any client certificate</b>, valid or not (a required one must still be presented). For tests only; off by default.
    /// </summary>
    public bool DangerousAcceptAnyClientCertificate { get; set; }

    /// <summary>ALPN protocols the server supports, most preferred first; none by default (ALPN is then not negotiated).</summary>
    public IList<SslApplicationProtocol> ApplicationProtocols { get; } = new List<SslApplicationProtocol>();

    /// <summary>
    /// asyncio's <c>ssl_handshake_timeout</c>: how long a client's handshake may take (60 s by default), on the server's
    /// <see cref="ConnectionOptions.Scheduler"/>. On expiry the connection is aborted and a <see cref="TimeoutException"/>
    /// goes to <see cref="StreamServer.Errors"/>.
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

    /// <summary>Adjusts the <see cref="SslServerAuthenticationOptions"/> built for each handshake; <see langword="null"/> by default.</summary>
    public Action<SslServerAuthenticationOptions>? ConfigureAuthentication { get; set; }

    /// <summary>Options serving the certificate (with its key) in a PKCS#12 / PFX file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="password">Its password; <see langword="null"/> for none.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty, or the file holds no private key.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The file is not a PKCS#12 file, or the password is wrong.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static TlsServerOptions FromPfxFile(string path, string? password = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new TlsServerOptions(X509CertificateLoader.LoadPkcs12FromFile(path, password));
    }

    /// <summary>
    /// Options serving a PEM certificate and its PEM private key (<c>cert.pem</c> + <c>key.pem</c>, as
    /// <c>SSLContext.load_cert_chain(certfile, keyfile)</c>); with <paramref name="keyPath"/> <see langword="null"/>, the
    /// key is read from the certificate file.
    /// </summary>
    /// <param name="certificatePath">The certificate file (PEM).</param>
    /// <param name="keyPath">The private key file (PEM, unencrypted), or <see langword="null"/>.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException"><paramref name="certificatePath"/> is null or empty.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The files hold no matching certificate and key.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    public static TlsServerOptions FromPemFiles(string certificatePath, string? keyPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        return new TlsServerOptions(X509Certificate2.CreateFromPemFile(certificatePath, keyPath));
    }

    /// <summary>Checks that a certificate source is set (at the call that starts the server).</summary>
    internal void Validate(string parameterName)
    {
        if (Certificate is null && CertificateSelector is null)
        {
            throw new ArgumentException("TLS server options need a Certificate or a CertificateSelector (asyncio: a server needs an SSLContext with a certificate).", parameterName);
        }
    }

    /// <summary>Builds the options of one handshake.</summary>
    internal SslServerAuthenticationOptions Build()
    {
        var options = new SslServerAuthenticationOptions
        {
            ClientCertificateRequired = ClientCertificates != ClientCertificateMode.None,
            ApplicationProtocols = ApplicationProtocols.Count > 0 ? [.. ApplicationProtocols] : null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (CertificateSelector is { } selector)
        {
            var fallback = Certificate;
            options.ServerCertificateSelectionCallback = (_, name) => selector(string.IsNullOrEmpty(name) ? null : name) ?? fallback!;
        }
        else
        {
            options.ServerCertificateContext = ContextFor(Certificate!);
        }

        if (TrustedClientRoots.Count > 0)
        {
            options.CertificateChainPolicy = Internal.TlsTrust.CustomRootPolicy(TrustedClientRoots);
        }

        options.RemoteCertificateValidationCallback = Internal.TlsTrust.ClientCheck(
            ClientCertificates, DangerousAcceptAnyClientCertificate, ClientCertificateValidation);
        ConfigureAuthentication?.Invoke(options);
        return options;
    }

    /// <summary>One certificate context per certificate (built offline once, not per connection).</summary>
    private SslStreamCertificateContext ContextFor(X509Certificate2 certificate)
    {
        lock (_contextGate)
        {
            if (_context is null || !ReferenceEquals(_contextFor, certificate))
            {
                _context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
                _contextFor = certificate;
            }

            return _context;
        }
    }
}
