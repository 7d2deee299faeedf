using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace RxStreams;

/// <summary>
/// What a TLS handshake settled, for one connection: <see cref="ConnectionWriter.Tls"/> and <see cref="StreamConnection.Tls"/>
/// (the typed form of asyncio's <c>get_extra_info('peercert' | 'cipher' | 'ssl_object')</c>).
/// </summary>
public sealed class TlsInfo
{
    private readonly SslStream _stream;

    internal TlsInfo(SslStream stream, bool isServer, string? serverName, object authenticationOptions)
    {
        _stream = stream;
        IsServer = isServer;
        ServerName = string.IsNullOrEmpty(serverName) ? null : serverName;
        AuthenticationOptions = authenticationOptions;
        Protocol = stream.SslProtocol;
        CipherSuite = stream.NegotiatedCipherSuite;
        ApplicationProtocol = stream.NegotiatedApplicationProtocol;
        RemoteCertificate = stream.RemoteCertificate as X509Certificate2
            ?? (stream.RemoteCertificate is { } other ? X509CertificateLoader.LoadCertificate(other.GetRawCertData()) : null);
    }

    /// <summary>Whether this side acted as the TLS server.</summary>
    public bool IsServer { get; }

    /// <summary>
    /// The SNI host name: on a client, the name it sent (and checked the certificate against); on a server, the name the
    /// client asked for. <see langword="null"/> when none was sent.
    /// </summary>
    public string? ServerName { get; }

    /// <summary>The negotiated protocol version (for example <see cref="SslProtocols.Tls13"/>).</summary>
    public SslProtocols Protocol { get; }

    /// <summary>The negotiated cipher suite (for example <c>TLS_AES_256_GCM_SHA384</c>).</summary>
    public TlsCipherSuite CipherSuite { get; }

    /// <summary>The ALPN protocol agreed on; <c>default</c> (empty) when none was.</summary>
    public SslApplicationProtocol ApplicationProtocol { get; }

    /// <summary>The peer's certificate (asyncio's <c>peercert</c>); <see langword="null"/> when the peer sent none (a client that was not asked).</summary>
    public X509Certificate2? RemoteCertificate { get; }

    /// <summary>The <see cref="SslStream"/> that carries the connection (asyncio's <c>ssl_object</c>). Do not read from or write to it.</summary>
    public SslStream SslStream => _stream;

    /// <summary>
    /// The <see cref="SslClientAuthenticationOptions"/> or <see cref="SslServerAuthenticationOptions"/> the handshake used
    /// (the closest .NET has to asyncio's <c>sslcontext</c>).
    /// </summary>
    public object AuthenticationOptions { get; }

    /// <summary>asyncio's <c>cipher</c> tuple: (cipher suite name, protocol version as OpenSSL names it, secret bits).</summary>
    public (string Name, string Version, int Bits) Cipher => (CipherSuite.ToString(), VersionName(Protocol), SecretBits(CipherSuite));

    /// <summary>asyncio's <c>get_extra_info</c> for the TLS keys; <paramref name="found"/> is false for other keys.</summary>
    internal object? ExtraInfo(string name, out bool found)
    {
        found = true;
        switch (name)
        {
            case "peercert":
                return RemoteCertificate;
            case "cipher":
                return Cipher;
            case "ssl_object":
                return _stream;
            case "sslcontext":
                return AuthenticationOptions;
            case "compression":
                return null; // TLS compression is disabled everywhere (CRIME)
            default:
                found = false;
                return null;
        }
    }

    /// <summary>The TLS keys <c>get_extra_info</c> knows, which are <see langword="null"/> on a plain connection.</summary>
    internal static bool IsTlsKey(string name) => name is "peercert" or "cipher" or "ssl_object" or "sslcontext" or "compression";

    private static string VersionName(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => protocol.ToString(), // older versions are off in every supported OS configuration
    };

    private static int SecretBits(TlsCipherSuite suite)
    {
        string name = suite.ToString();
        return name.Contains("_256_", StringComparison.Ordinal) || name.Contains("CHACHA20", StringComparison.Ordinal) ? 256
            : name.Contains("_128_", StringComparison.Ordinal) ? 128
            : 0;
    }
}
