using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RxStreams;

/// <summary>Whether a TLS server asks its clients for a certificate (asyncio's <c>SSLContext.verify_mode</c> on a server).</summary>
public enum ClientCertificateMode
{
    /// <summary>No certificate is requested (<c>CERT_NONE</c>): the default.</summary>
    None,

    /// <summary>A certificate is requested; a client without one is accepted, one with a bad one is refused (<c>CERT_OPTIONAL</c>).</summary>
    Optional,

    /// <summary>A valid certificate is required; a client without one fails the handshake (<c>CERT_REQUIRED</c>).</summary>
    Required,
}
