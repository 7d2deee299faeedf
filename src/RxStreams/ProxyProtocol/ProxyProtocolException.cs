namespace RxStreams;

/// <summary>
/// A connection on a server with <see cref="ServerOptions.ProxyProtocol"/> <see cref="ProxyProtocolMode.Required"/> did not
/// start with a valid PROXY protocol header: the bytes do not match the specification, the header is longer than
/// <see cref="ServerOptions.ProxyProtocolMaxHeaderLength"/>, or the peer closed the connection inside it. The connection is
/// aborted and this exception is reported on <see cref="StreamServer.Errors"/>; the server goes on.
/// </summary>
public sealed class ProxyProtocolException : IOException
{
    /// <summary>Creates the exception with a message that says what was wrong.</summary>
    /// <param name="message">What was wrong with the header.</param>
    public ProxyProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">What was wrong with the header.</param>
    /// <param name="innerException">The underlying error.</param>
    public ProxyProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public ProxyProtocolException()
        : base("Invalid PROXY protocol header.")
    {
    }
}
