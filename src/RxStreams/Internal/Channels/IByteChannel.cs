using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// A connection's bytes, without its lifetime: what a socket, a TLS session over another channel, an in-memory pair or
/// a test's script must provide. The <see cref="ConnectionCore"/> above it owns the lifetime (open → closed), sorts the
/// errors a channel raises into "end of input" and "failure", and counts the metrics; a channel only moves bytes.
/// </summary>
/// <remarks>
/// <para>
/// Receiving is split in two so that a waiting reader holds as little as possible: <see cref="TryReceive"/> takes what
/// is there without waiting, and <see cref="WaitAsync"/> waits for "something happened" without any buffer, so an idle
/// connection holds one pending zero-byte wait and no receive memory.
/// </para>
/// <para>
/// Not thread-safe for concurrent receives or concurrent sends: the reader receives (one consumer at a time), the
/// writer sends (one send loop). A receive, a send and a close may overlap.
/// </para>
/// </remarks>
internal interface IByteChannel
{
    /// <summary>The local endpoint, as the channel knows it (asyncio's <c>sockname</c> before any PROXY header).</summary>
    EndPoint? LocalEndPoint { get; }

    /// <summary>The peer's endpoint, as the channel knows it.</summary>
    EndPoint? RemoteEndPoint { get; }

    /// <summary>The socket underneath, when there is one (asyncio's <c>socket</c>).</summary>
    Socket? Socket { get; }

    /// <summary>OpenTelemetry's <c>network.transport</c>: <c>tcp</c>, <c>unix</c> or <c>memory</c>.</summary>
    string NetworkTransport { get; }

    /// <summary>Whether the write direction can be shut down on its own (asyncio's <c>can_write_eof()</c>).</summary>
    bool CanShutdownSend { get; }

    /// <summary>The TLS session this channel carries; <see langword="null"/> for a plaintext channel.</summary>
    TlsInfo? Tls { get; }

    /// <summary>Appends what is available to <paramref name="buffer"/> without waiting.</summary>
    /// <param name="buffer">The reader's buffer.</param>
    /// <param name="strategy">How to take memory for the receive (see <see cref="ReceiveStrategy"/>).</param>
    /// <returns>The byte count; 0 at the end of the input; -1 when nothing is available yet.</returns>
    /// <exception cref="Exception">The input failed (raw: the core decides whether it is an error or the end).</exception>
    int TryReceive(ref ReadBuffer buffer, ReceiveStrategy strategy);

    /// <summary>
    /// Completes when <see cref="TryReceive"/> may have something to report (bytes, the end, an error). May complete
    /// spuriously, and may fault; either way the caller calls <see cref="TryReceive"/> again.
    /// </summary>
    ValueTask<int> WaitAsync(CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="WaitAsync"/> for a waiter that never blocks (the push reader, whose subscribers are synchronous
    /// callbacks): a channel with its own I/O thread may resume it inline there, to run receive, decode, subscribers and
    /// send to completion. <see cref="WaitAsync"/> never resumes its waiter on such a thread, since a waiter that blocks
    /// there would stall every other channel the thread serves.
    /// </summary>
    ValueTask<int> WaitInlineAsync(CancellationToken cancellationToken) => WaitAsync(cancellationToken);

    /// <summary>Sends every segment, in order, reporting progress to <paramref name="progress"/> as bytes leave.</summary>
    ValueTask SendAsync(SendBatch batch, ISendProgress progress);

    /// <summary>
    /// Shuts the write direction down (a FIN; on TLS close_notify first). Completes when it is done; a fault is the
    /// connection's error.
    /// </summary>
    Task ShutdownSendAsync();

    /// <summary>Releases the channel; with <paramref name="abort"/>, resets instead of closing gracefully.</summary>
    void Close(bool abort);
}
