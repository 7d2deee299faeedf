using System.Net.Sockets;
using RxStreams.Internal;

namespace RxStreams;

// The TLS parts of the entry points. The type's docs are in Streams.cs.
public static partial class Streams
{
    /// <summary>
    /// asyncio's <c>open_connection(sock=..., ssl=...)</c>: wraps a socket that is already connected and, when
    /// <see cref="ConnectionOptions.Tls"/> is set, runs the TLS handshake on it (the plaintext form is
    /// <see cref="OpenConnection(Socket, ConnectionOptions?)"/>).
    /// </summary>
    /// <param name="socket">A connected stream socket (TCP or Unix); the connection owns it from now on (it is closed if the handshake fails).</param>
    /// <param name="options">Limit, water marks, TLS (whose <see cref="TlsClientOptions.ServerName"/> must be set: a socket has no host name).</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The socket is not a connected stream socket, or TLS is asked for without a server name.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed (for example the certificate was refused).</exception>
    /// <exception cref="TimeoutException"><see cref="TlsClientOptions.HandshakeTimeout"/> passed.</exception>
    public static async Task<StreamConnection> OpenConnectionAsync(Socket socket, ConnectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        options ??= new ConnectionOptions();
        if (options.Tls is not { } tls)
        {
            return OpenConnection(socket, options);
        }

        tls.Validate(null, nameof(options));

        if (socket.SocketType != SocketType.Stream)
        {
            throw new ArgumentException($"A stream socket was expected, got {socket.SocketType}.", nameof(socket));
        }

        if (!socket.Connected)
        {
            throw new ArgumentException("The socket is not connected.", nameof(socket));
        }

        options.Validate();
        return await ConnectedAsync(socket, options, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A freshly connected socket as a connection, after the TLS handshake when the options ask for one.</summary>
    private static Task<StreamConnection> ConnectedAsync(Socket socket, ConnectionOptions options, string? host, CancellationToken cancellationToken)
    {
        var connection = StreamConnection.Open(SocketChannel.Create(socket, options), options, host);
        return options.Tls is { } tls ? SecureAsync(connection, tls, host, cancellationToken) : Task.FromResult(connection);
    }

    private static async Task<StreamConnection> SecureAsync(StreamConnection connection, TlsClientOptions tls, string? host, CancellationToken cancellationToken)
    {
        try
        {
            await TlsUpgrade.ClientAsync(connection, tls, host, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            connection.Abort();
            throw;
        }
    }
}
