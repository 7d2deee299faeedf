namespace RxStreams;

/// <summary>
/// A server refused a connection under one of its connection policies (<see cref="ServerOptions.MaxConnectionsPerClient"/>,
/// <see cref="ServerOptions.MaxConnectionRatePerClient"/>). The connection is aborted and this exception is reported on
/// <see cref="StreamServer.Errors"/>; the server goes on.
/// </summary>
public sealed class ConnectionRejectedException : IOException
{
    /// <summary>Creates the exception with a message that says which policy refused which client.</summary>
    /// <param name="message">Which policy refused the connection.</param>
    public ConnectionRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">Which policy refused the connection.</param>
    /// <param name="innerException">The underlying error.</param>
    public ConnectionRejectedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public ConnectionRejectedException()
        : base("The server's connection policy refused the connection.")
    {
    }
}
