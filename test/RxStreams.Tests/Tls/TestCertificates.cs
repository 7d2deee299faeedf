using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RxStreams.Tests.Tls;

/// <summary>Certificates made at test time (nothing committed, nothing downloaded): a private CA, leaves it signed, a self-signed stranger.</summary>
internal static class TestCertificates
{
    private static readonly Lazy<X509Certificate2> LazyCa = new(() => CreateCa("CN=RxStreams Test CA"));
    private static readonly Lazy<X509Certificate2> LazyServer = new(() => CreateLeaf("localhost", Ca, server: true));
    private static readonly Lazy<X509Certificate2> LazyClient = new(() => CreateLeaf("rxstreams-client", Ca, server: false));
    private static readonly Lazy<X509Certificate2> LazySelfSigned = new(() => CreateSelfSigned("localhost"));

    /// <summary>The private CA that signs <see cref="Server"/> and <see cref="Client"/>.</summary>
    public static X509Certificate2 Ca => LazyCa.Value;

    /// <summary>A server certificate for <c>localhost</c> and <c>127.0.0.1</c>, signed by <see cref="Ca"/>.</summary>
    public static X509Certificate2 Server => LazyServer.Value;

    /// <summary>A client certificate signed by <see cref="Ca"/>.</summary>
    public static X509Certificate2 Client => LazyClient.Value;

    /// <summary>A self-signed certificate for <c>localhost</c> that nobody trusts.</summary>
    public static X509Certificate2 SelfSigned => LazySelfSigned.Value;

    /// <summary>A server certificate for <paramref name="name"/>, signed by <see cref="Ca"/>.</summary>
    public static X509Certificate2 ServerFor(string name) => CreateLeaf(name, Ca, server: true);

    /// <summary>Client options that trust <see cref="Ca"/> only (verification stays on).</summary>
    public static TlsClientOptions TrustingClient(string? serverName = "localhost")
    {
        var options = new TlsClientOptions { ServerName = serverName };
        options.TrustedRoots.Add(Ca);
        return options;
    }

    /// <summary>Server options serving <see cref="Server"/>.</summary>
    public static TlsServerOptions ServerOptions() => new(Server);

    /// <summary>Writes <paramref name="certificate"/> and its key as PEM files in <paramref name="directory"/>.</summary>
    public static (string CertificatePath, string KeyPath) WritePem(X509Certificate2 certificate, string directory)
    {
        string certPath = Path.Combine(directory, "cert.pem");
        string keyPath = Path.Combine(directory, "key.pem");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        using var key = certificate.GetRSAPrivateKey()!;
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    private static X509Certificate2 CreateCa(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 CreateLeaf(string name, X509Certificate2 issuer, bool server)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        AddLeafExtensions(request, name, server);
        var serial = RandomNumberGenerator.GetBytes(8);
        using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return signed.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 CreateSelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        AddLeafExtensions(request, name, server: true);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static void AddLeafExtensions(CertificateRequest request, string name, bool server)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName(name);
            if (name == "localhost")
            {
                names.AddIpAddress(IPAddress.Loopback);
            }

            request.CertificateExtensions.Add(names.Build());
        }
    }
}
