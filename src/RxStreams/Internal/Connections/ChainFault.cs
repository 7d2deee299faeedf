namespace RxStreams.Internal;

/// <summary>
/// Tells a connection's own I/O failure, which a chain such as <c>reader.Lines().Subscribe(writer)</c> merely passes on,
/// from an error the chain raised itself (a throwing <c>Select</c>, a second subscription), which must be reported.
/// </summary>
internal static class ChainFault
{
    /// <summary>
    /// Whether <paramref name="error"/> is <paramref name="terminalError"/> (the connection's own failure) or wraps it (a
    /// framing operator reports a frame cut short by it as an <see cref="IncompleteReadException"/> around it).
    /// </summary>
    public static bool IsOwnFailure(Exception error, Exception? terminalError)
    {
        if (terminalError is null)
        {
            return false;
        }

        for (var current = error; current is not null; current = current.InnerException)
        {
            if (ReferenceEquals(current, terminalError))
            {
                return true;
            }
        }

        return false;
    }
}
