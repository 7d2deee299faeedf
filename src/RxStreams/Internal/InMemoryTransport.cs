using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// A <see cref="Transport"/> without a socket: it receives from an <see cref="InMemoryPipe"/> and sends to an
/// <see cref="IInMemoryOutlet"/> (the peer's pipe, or a test's recorder). The writer, the reader and the lifetime rules
/// are the socket's own, so code tested on it behaves the same on a socket.
/// </summary>
/// <remarks>
/// Mapping of socket events: <see cref="ShutdownSendCore"/> is a FIN (the peer reads the end after what was sent);
/// <c>Close</c> is a FIN and drops our inbound queue (the peer's later sends fail with a reset, as writing to a closed
/// socket does); <c>Abort</c>/<c>Fail</c> is an RST (the peer reads what was already queued, then
/// <see cref="SocketError.ConnectionReset"/>). Closing with unread inbound bytes sends a FIN, not an RST, which is what a
/// socket's lingering close achieves too (ADR 0011); unlike a socket, the close completes at once instead of waiting
/// for the peer's EOF (there is no kernel buffer whose reset could destroy data the peer has not read).
/// </remarks>
internal sealed class InMemoryTransport : Transport
{
    private readonly InMemoryPipe _inbound;
    private readonly IInMemoryOutlet _outbound;
    private readonly Action<int> _onSent;

    public InMemoryTransport(InMemoryPipe inbound, IInMemoryOutlet outbound, EndPoint localEndPoint, EndPoint remoteEndPoint)
    {
        _inbound = inbound;
        _outbound = outbound;
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
        _onSent = count => Writer?.OnBytesSent(count);
    }

    public override bool CanShutdownSend => true;

    public override EndPoint? LocalEndPoint { get; }

    public override EndPoint? RemoteEndPoint { get; }

    public override Socket? Socket => null;

    public override string NetworkTransport => "memory";

    /// <summary>The pipe this end receives from (a scripted connection feeds it).</summary>
    internal InMemoryPipe Inbound => _inbound;

    public override int TryReceive(ref ReadBuffer buffer)
    {
        if (InputEnded)
        {
            return 0;
        }

        if (IsClosed)
        {
            return EndOfInputOrThrow(null);
        }

        int received;
        try
        {
            received = _inbound.TryReceive(ref buffer);
        }
        catch (IOException reset)
        {
            return EndOfInputOrThrow(reset);
        }

        if (received == 0)
        {
            MarkInputEnded();
        }

        return received;
    }

    public override ValueTask<int> WaitAsync(CancellationToken cancellationToken) => _inbound.WaitForDataAsync(cancellationToken);

    public override ValueTask SendAsync(SendBatch batch)
    {
        try
        {
            return _outbound.SendAsync(batch, _onSent);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            return ValueTask.FromException(error);
        }
    }

    protected override void ShutdownSendCore() => _outbound.ShutdownSend();

    protected override bool CloseCore(bool abort)
    {
        _outbound.Close(abort ? ThrowHelper.WrapSocketError(new SocketException((int)SocketError.ConnectionReset)) : null);
        _inbound.CloseReceiving();
        return false; // nothing to linger for: no kernel buffer, and unread input never turns the close into a reset
    }

    private int EndOfInputOrThrow(Exception? error)
    {
        if (IsClosed && TerminalError is null)
        {
            // We closed it ourselves: for the reader that is the end of the input (asyncio: local close → EOF).
            MarkInputEnded();
            return 0;
        }

        var terminal = TerminalError ?? error ?? ThrowHelper.CreateConnectionLost();
        Fail(terminal);
        throw TerminalError ?? terminal;
    }
}
