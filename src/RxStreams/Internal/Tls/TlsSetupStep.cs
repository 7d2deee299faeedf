namespace RxStreams.Internal;

/// <summary>The TLS handshake as a server's <see cref="ConnectionSetupStep"/> (it runs after any step that reads through the reader, such as a PROXY header).</summary>
internal static class TlsSetupStep
{
    /// <summary>One handshake step when <see cref="ServerOptions.Tls"/> is set, else none.</summary>
    public static ConnectionSetupStep[] For(ServerOptions options) =>
        options.Tls is { } tls
            ? [(connection, cancellationToken) => new ValueTask(TlsUpgrade.ServerAsync(connection, tls, cancellationToken))]
            : [];
}
