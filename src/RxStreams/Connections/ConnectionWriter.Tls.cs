using RxStreams.Internal;

namespace RxStreams;

// StartTlsAsync (asyncio's start_tls) and holding the send loop while the handshake runs; the type's docs are in ConnectionWriter.cs.
public sealed partial class ConnectionWriter
{
    /// <summary>
    /// asyncio 3.11's <c>start_tls()</c> as the client: waits until everything written so far is sent, then runs a TLS
    /// handshake on this connection; afterwards this writer and the connection's reader carry TLS. Bytes the reader had
    /// already received and nobody read go to TLS, not lost (asyncio's gh-142352). Writes made during the handshake are
    /// sent encrypted after it.
    /// </summary>
    /// <param name="options">The TLS settings; <see cref="TlsClientOptions.ServerName"/> defaults to the host the connection was opened with.</param>
    /// <param name="cancellationToken">Cancels the upgrade (the connection is then failed: its TLS state is unknown).</param>
    /// <returns>A task that completes when the handshake succeeded.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No server name is known (a connection not opened by host name: set <see cref="TlsClientOptions.ServerName"/>).</exception>
    /// <exception cref="InvalidOperationException">The connection already uses TLS, is closing, or its reader is busy (a subscription or a pending read).</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed (for example the server's certificate was refused); the connection is failed.</exception>
    /// <exception cref="TimeoutException"><see cref="TlsClientOptions.HandshakeTimeout"/> passed; the connection is aborted.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public Task StartTlsAsync(TlsClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connection = ConnectionForUpgrade();
        _ = options.Validate(connection.HostName, nameof(options)); // argument errors at the call, before anything waits
        return StartTlsCoreAsync(ct => TlsUpgrade.ClientAsync(connection, options, connection.HostName, ct), cancellationToken);
    }

    /// <summary>
    /// asyncio 3.11's <c>start_tls()</c> as the server (a connection a <see cref="StreamServer"/> accepted, in the
    /// SMTP/IMAP/PostgreSQL pattern): waits until everything written so far (the "go ahead" reply) is sent, then answers
    /// the client's handshake; the ClientHello may already sit in the reader's buffer and is used, not lost.
    /// </summary>
    /// <remarks>
    /// Read the STARTTLS command with the pull methods (<see cref="ConnectionReader.ReadLineAsync"/>): they leave every
    /// byte after the line in the reader's buffer, where the upgrade finds it. A push chain (<c>reader.Lines().Take(1)</c>)
    /// hands whole chunks to its operators, so bytes pipelined behind the command would stay in the operator and be lost.
    /// </remarks>
    /// <param name="options">The server's TLS settings (certificate, client certificates, ALPN, handshake timeout).</param>
    /// <param name="cancellationToken">Cancels the upgrade (the connection is then failed).</param>
    /// <returns>A task that completes when the handshake succeeded.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options have no certificate.</exception>
    /// <exception cref="InvalidOperationException">The connection already uses TLS, is closing, or its reader is busy.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed; the connection is failed.</exception>
    /// <exception cref="TimeoutException"><see cref="TlsServerOptions.HandshakeTimeout"/> passed; the connection is aborted.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public Task StartTlsAsync(TlsServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        var connection = ConnectionForUpgrade();
        return StartTlsCoreAsync(ct => TlsUpgrade.ServerAsync(connection, options, ct), cancellationToken);
    }

    /// <summary>
    /// Waits until everything written has been sent and the send loop is idle, then takes its slot so nothing is sent
    /// until <see cref="ReleaseSending"/> (a TLS upgrade must not interleave plaintext with its handshake). Writes made
    /// meanwhile wait in the buffer.
    /// </summary>
    internal async ValueTask HoldSendingAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource idle;
            lock (_queue)
            {
                if (_failure is not null)
                {
                    throw _failure;
                }

                if (_state != OutputState.Open)
                {
                    throw new InvalidOperationException("The writer is closing or half-closed: TLS cannot start on it.");
                }

                if (Volatile.Read(ref _sending) == 0 && _queue.IsEmpty)
                {
                    Volatile.Write(ref _sending, 1); // FlushNow's compare-exchange now fails: we own the send slot
                    return;
                }

                idle = _sendIdle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            FlushNow();
            await idle.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives back the slot taken by <see cref="HoldSendingAsync"/> and sends what was written meanwhile.</summary>
    internal void ReleaseSending()
    {
        Volatile.Write(ref _sending, 0);
        FlushNow();
    }

    private StreamConnection ConnectionForUpgrade() => _core.Connection;

    private async Task StartTlsCoreAsync(Func<CancellationToken, Task> upgrade, CancellationToken cancellationToken)
    {
        await DrainAsync(cancellationToken).ConfigureAwait(false); // asyncio: start_tls awaits drain() first
        await upgrade(cancellationToken).ConfigureAwait(false);
    }
}
