namespace RxStreams.Internal;

/// <summary>
/// One step a server runs on each accepted connection before handing it to a subscriber: reading a PROXY protocol
/// header, a TLS handshake. Steps run in order, off the accept loop, so a slow peer never delays accepting others.
/// </summary>
/// <param name="connection">The accepted connection, not yet delivered to anyone.</param>
/// <param name="cancellationToken">Cancelled when the subscriber that accepted it goes away or the server closes.</param>
/// <returns>Completes when the connection is ready; a fault aborts the connection and is reported on <see cref="StreamServer.Errors"/>.</returns>
internal delegate ValueTask ConnectionSetupStep(StreamConnection connection, CancellationToken cancellationToken);
