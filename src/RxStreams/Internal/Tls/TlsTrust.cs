using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RxStreams.Internal;

/// <summary>The certificate checks behind <see cref="TlsClientOptions"/> and <see cref="TlsServerOptions"/>.</summary>
internal static class TlsTrust
{
    /// <summary>A chain policy trusting only <paramref name="roots"/>, never downloading anything.</summary>
    public static X509ChainPolicy CustomRootPolicy(X509Certificate2Collection roots)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }

    /// <summary>The client's check of the server's certificate; <see langword="null"/> leaves it to SslStream (whose errors then name the problem).</summary>
    public static RemoteCertificateValidationCallback? ServerCheck(bool acceptAny, RemoteCertificateValidationCallback? custom, bool checkName)
    {
        if (acceptAny)
        {
#pragma warning disable CA5359 // the loudly named, off-by-default opt-out (TlsClientOptions.DangerousAcceptAnyServerCertificate)
            return static (_, _, _, _) => true;
#pragma warning restore CA5359
        }

        if (custom is not null)
        {
            return custom;
        }

        // ServerName "" (asyncio: server_hostname='') skips only the name check; a missing or untrusted certificate still fails.
        return checkName
            ? null
            : static (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
    }

    /// <summary>The server's check of a client's certificate; <see langword="null"/> leaves a required one to SslStream's own check.</summary>
    public static RemoteCertificateValidationCallback? ClientCheck(ClientCertificateMode mode, bool acceptAny, RemoteCertificateValidationCallback? custom)
    {
        if (mode == ClientCertificateMode.Required && !acceptAny && custom is null)
        {
            return null;
        }

        return (sender, certificate, chain, errors) =>
        {
            if (certificate is null)
            {
                return mode != ClientCertificateMode.Required; // "required" means presented
            }

            if (acceptAny)
            {
                return true;
            }

            if (custom is not null)
            {
                return custom(sender, certificate, chain, errors);
            }

            // A client certificate carries no host name to match: only its chain counts.
            return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        };
    }
}
