namespace RxStreams.Internal;

/// <summary>
/// Marks a source of byte chunks that comes from a connection with a frame timeout (a reader, or its
/// <c>ReadChunksAsync()</c>): a framing operator over it, push or pull, starts the connection's frame clock while part of
/// a frame waits for more bytes and stops it at each frame.
/// </summary>
/// <remarks>
/// A capability, not a type test: framers ask for it by interface, so any source that carries a frame timeout gets the
/// same treatment, and a source that merely wraps a reader (or a framing operator over one) does not, since its chunks are
/// no longer the connection's frames.
/// </remarks>
internal interface IFrameTimeoutSource
{
    /// <summary>The watchdog that enforces the connection's frame timeout, or <see langword="null"/> when it has none.</summary>
    ConnectionWatchdog? FrameWatchdog { get; }
}
