using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// A channel without a socket: it receives from an <see cref="InMemoryPipe"/> and sends to an
/// <see cref="IInMemoryOutlet"/> (the peer's pipe, or a test's recorder). The core, the writer and the reader above it
/// are the socket's own, so code tested on it behaves the same on a socket.
/// </summary>
/// <remarks>
/// Mapping of socket events: <see cref="ShutdownSendAsync"/> is a FIN (the peer reads the end after what was sent);
/// a graceful <see cref="Close"/> is a FIN and drops our inbound queue (the peer's later sends fail with a reset, as
/// writing to a closed socket does); an abortive one is an RST (the peer reads what was already queued, then
/// <see cref="SocketError.ConnectionReset"/>). Closing with unread inbound bytes sends a FIN, not an RST, which is what a
/// socket's lingering close achieves too (ADR 0011); unlike a socket, the close completes at once instead of waiting for
/// the peer's EOF (there is no kernel buffer whose reset could destroy data the peer has not read).
/// </remarks>
internal sealed class InMemoryChannel(InMemoryPipe inbound, IInMemoryOutlet outbound, EndPoint localEndPoint, EndPoint remoteEndPoint)
    : IByteChannel
{
    public bool CanShutdownSend => true;

    public EndPoint? LocalEndPoint => localEndPoint;

    public EndPoint? RemoteEndPoint => remoteEndPoint;

    public Socket? Socket => null;

    public string NetworkTransport => "memory";

    public TlsInfo? Tls => null;

    /// <summary>The pipe this end receives from (a scripted connection feeds it).</summary>
    internal InMemoryPipe Inbound => inbound;

    // The pipe hands over owned arrays (adopted, never copied): no receive memory to choose.
    public int TryReceive(ref ReadBuffer buffer, ReceiveStrategy strategy) => inbound.TryReceive(ref buffer);

    public ValueTask<int> WaitAsync(CancellationToken cancellationToken) => inbound.WaitForDataAsync(cancellationToken);

    public ValueTask SendAsync(SendBatch batch, ISendProgress progress)
    {
        try
        {
            return outbound.SendAsync(batch, progress);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            return ValueTask.FromException(error);
        }
    }

    public Task ShutdownSendAsync()
    {
        outbound.ShutdownSend();
        return Task.CompletedTask;
    }

    public void Close(bool abort)
    {
        outbound.Close(abort ? ThrowHelper.WrapSocketError(new SocketException((int)SocketError.ConnectionReset)) : null);
        inbound.CloseReceiving();
    }
}
