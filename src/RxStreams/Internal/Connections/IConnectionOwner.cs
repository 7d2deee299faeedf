namespace RxStreams.Internal;

/// <summary>What a connection tells whoever tracks it (a <see cref="StreamServer"/>); given to its constructor.</summary>
internal interface IConnectionOwner
{
    /// <summary>The connection closed, whatever the reason.</summary>
    void OnClosed(StreamConnection connection);

    /// <summary>A handler or subscriber of <paramref name="connection"/> failed; the connection was aborted with it.</summary>
    void ReportError(StreamConnection? connection, Exception error);
}
