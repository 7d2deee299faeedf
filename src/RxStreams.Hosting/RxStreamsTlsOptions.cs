using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RxStreams.Hosting;

/// <summary>
/// The <c>Tls</c> section of a hosted server (<see cref="RxStreamsServerOptions.Tls"/>): the certificate as PEM files
/// (<see cref="CertificatePath"/> + <see cref="KeyPath"/>) or as a PKCS#12 file (<see cref="PfxPath"/> +
/// <see cref="Password"/>), whether clients must present one, and the handshake timeout. Files are read when the host
/// starts; a missing or unreadable one fails the start, naming the server and the key.
/// </summary>
/// <example>
/// <code>
/// "Tls": { "CertificatePath": "certs/server.pem", "KeyPath": "certs/server.key", "ClientCertificates": "Required",
///          "TrustedClientRootsPath": "certs/clients-ca.pem", "HandshakeTimeout": "00:00:10" }
/// </code>
/// </example>
public sealed class RxStreamsTlsOptions
{
    /// <summary>The certificate (PEM); its key is read from <see cref="KeyPath"/>, or from this file when that is not set. Excludes <see cref="PfxPath"/>.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The unencrypted private key (PEM) of <see cref="CertificatePath"/>; <see langword="null"/> when that file holds it.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The certificate with its key in a PKCS#12 / PFX file. Excludes <see cref="CertificatePath"/>.</summary>
    public string? PfxPath { get; set; }

    /// <summary>The password of <see cref="PfxPath"/>; <see langword="null"/> for none. Keep it out of appsettings.json (user secrets, an environment variable).</summary>
    public string? Password { get; set; }

    /// <summary>Whether clients are asked for a certificate: <c>None</c> (the default), <c>Optional</c> or <c>Required</c>.</summary>
    public ClientCertificateMode ClientCertificates { get; set; } = ClientCertificateMode.None;

    /// <summary>
    /// A PEM file of the roots a client certificate must chain to, instead of the operating system's store (a private
    /// CA for mutual TLS); <see langword="null"/> (the default) uses the OS store.
    /// </summary>
    public string? TrustedClientRootsPath { get; set; }

    /// <summary>How long a client's handshake may take; <see langword="null"/> (the default) keeps the library's 60 s.</summary>
    public TimeSpan? HandshakeTimeout { get; set; }

    /// <summary>ALPN protocols offered, most preferred first (for example <c>"h2"</c>); none by default.</summary>
    public IList<string> ApplicationProtocols { get; } = new List<string>();

    /// <summary>Loads the certificate and builds the library's options.</summary>
    /// <param name="name">The server's name, for error messages.</param>
    /// <exception cref="InvalidOperationException">No certificate or both kinds are configured, or a file cannot be read.</exception>
    internal TlsServerOptions ToTlsServerOptions(string name)
    {
        bool pem = !string.IsNullOrEmpty(CertificatePath), pfx = !string.IsNullOrEmpty(PfxPath);
        if (pem == pfx)
        {
            throw new InvalidOperationException(pem
                ? $"RxStreams server '{name}': set either Tls:CertificatePath (PEM) or Tls:PfxPath, not both."
                : $"RxStreams server '{name}': the Tls section needs a certificate: Tls:CertificatePath (PEM, with Tls:KeyPath) or Tls:PfxPath.");
        }

        if (!pem && KeyPath is not null)
        {
            throw new InvalidOperationException($"RxStreams server '{name}': Tls:KeyPath goes with Tls:CertificatePath (a PFX file holds its own key).");
        }

        var options = pem
            ? Load(name, "Tls:CertificatePath", () => TlsServerOptions.FromPemFiles(CertificatePath!, KeyPath))
            : Load(name, "Tls:PfxPath", () => TlsServerOptions.FromPfxFile(PfxPath!, Password));
        options.ClientCertificates = ClientCertificates;
        if (HandshakeTimeout is { } timeout)
        {
            options.HandshakeTimeout = timeout;
        }

        if (TrustedClientRootsPath is { Length: > 0 } roots)
        {
            Load(name, "Tls:TrustedClientRootsPath", () =>
            {
                options.TrustedClientRoots.ImportFromPemFile(roots);
                return options;
            });
        }

        foreach (var protocol in ApplicationProtocols)
        {
            options.ApplicationProtocols.Add(new SslApplicationProtocol(protocol));
        }

        return options;
    }

    private static TlsServerOptions Load(string name, string key, Func<TlsServerOptions> load)
    {
        try
        {
            return load();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"RxStreams server '{name}': {key}: {error.Message}", error);
        }
    }
}
