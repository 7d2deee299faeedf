namespace RxStreams.Internal;

/// <summary>Which <see cref="ConnectionSetupStep"/>s a server's options call for, in the order they run.</summary>
internal static class ConnectionSetup
{
    /// <summary>The steps for <paramref name="options"/>; empty when connections are ready as soon as accepted.</summary>
    /// <param name="options">The server's options.</param>
    /// <param name="admission">The server's connection policies, if any: after the PROXY header (they judge the client's
    /// address it names), before TLS (a refused client costs no handshake).</param>
    public static ConnectionSetupStep[] StepsFor(ServerOptions options, ConnectionSetupStep? admission = null)
    {
        var steps = new List<ConnectionSetupStep>();
        if (options.ProxyProtocol == ProxyProtocolMode.Required)
        {
            steps.Add(ProxyProtocolStep.Create(options)); // first: the PROXY header precedes even a TLS ClientHello on the wire
        }

        if (admission is not null)
        {
            steps.Add(admission);
        }

        steps.AddRange(TlsSetupStep.For(options));
        return [.. steps];
    }
}
