using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// Connections without sockets: two <see cref="StreamConnection"/> ends joined in memory, with the same
/// <see cref="ConnectionReader"/> and <see cref="ConnectionWriter"/> as a socket, for tests of protocol code and for
/// in-process pipes.
/// </summary>
/// <remarks>
/// <para>
/// <b>Same semantics as a socket.</b> Each direction holds at most a transfer capacity of bytes in flight (the two
/// kernel buffers of a socket): a reader that stops reading fills it, then the sender's writer buffer grows past its
/// high-water mark, <see cref="ConnectionWriter.DrainAsync"/> waits and a synchronous chain feeding it stops reading its
/// own source (see docs/contract.md, guarantee 5 "Backpressure, end to end"). <see cref="ConnectionWriter.WriteEof"/> half-closes (the peer's reader completes,
/// and it can still answer); <see cref="ConnectionWriter.Close"/> sends what is buffered and then the end;
/// <see cref="ConnectionWriter.Abort"/> is a reset: the peer reads the bytes already in flight, then an
/// <see cref="IOException"/> whose inner exception is a <see cref="System.Net.Sockets.SocketException"/> with
/// <see cref="System.Net.Sockets.SocketError.ConnectionReset"/>. Writing to an end whose peer closed fails the same way.
/// </para>
/// <para>
/// <b>Differences.</b> <see cref="StreamConnection.Socket"/> is <see langword="null"/>; the endpoints are
/// <see cref="InMemoryEndPoint"/>s named <c>"client"</c> and <c>"server"</c>; <c>NoDelay</c>, <c>KeepAlive</c>,
/// <c>Family</c>, <c>ConnectTimeout</c> and <c>LocalEndPoint</c> options mean nothing here. Closing with unread inbound
/// bytes sends an end, where TCP would send a reset.
/// </para>
/// </remarks>
public static class InMemoryConnection
{
    /// <summary>The default transfer capacity of each direction: 64 KiB, about what a loopback socket holds.</summary>
    public const int DefaultTransferCapacity = 64 * 1024;

    /// <summary>Creates two connected ends.</summary>
    /// <param name="options">The settings of both ends (limit, water marks, write buffer cap, close timeout, scheduler); defaults when <see langword="null"/>.</param>
    /// <param name="transferCapacity">How many bytes each direction holds before a sender must wait for its reader
    /// (<see cref="DefaultTransferCapacity"/>, 64 KiB, by default).</param>
    /// <returns>The pair; dispose it (or both ends) when done.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="transferCapacity"/> is not positive, or the water marks in <paramref name="options"/> are inconsistent.</exception>
    public static ConnectionPair CreatePair(ConnectionOptions? options = null, int transferCapacity = DefaultTransferCapacity) =>
        CreatePair(new InMemoryEndPoint("client"), options, new InMemoryEndPoint("server"), options, transferCapacity);

    /// <summary>
    /// Creates two connected ends with their own names and settings: for a relay or a simulated network
    /// (RxStreams.Testing's <c>SimulatedNetwork</c>), whose own end must not inherit the timeouts of the application's.
    /// </summary>
    /// <param name="clientEndPoint">The client end's <see cref="StreamConnection.LocalEndPoint"/> (the server end's <see cref="StreamConnection.RemoteEndPoint"/>).</param>
    /// <param name="clientOptions">The client end's settings; defaults when <see langword="null"/>.</param>
    /// <param name="serverEndPoint">The server end's <see cref="StreamConnection.LocalEndPoint"/> (the client end's <see cref="StreamConnection.RemoteEndPoint"/>).</param>
    /// <param name="serverOptions">The server end's settings; defaults when <see langword="null"/>.</param>
    /// <param name="transferCapacity">How many bytes each direction holds before a sender must wait for its reader.</param>
    /// <returns>The pair; dispose it (or both ends) when done.</returns>
    /// <exception cref="ArgumentNullException">An endpoint is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="transferCapacity"/> is not positive, or the water marks in the options are inconsistent.</exception>
    public static ConnectionPair CreatePair(
        InMemoryEndPoint clientEndPoint,
        ConnectionOptions? clientOptions,
        InMemoryEndPoint serverEndPoint,
        ConnectionOptions? serverOptions,
        int transferCapacity = DefaultTransferCapacity)
    {
        ArgumentNullException.ThrowIfNull(clientEndPoint);
        ArgumentNullException.ThrowIfNull(serverEndPoint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transferCapacity);
        clientOptions ??= new ConnectionOptions();
        clientOptions.Validate();
        serverOptions ??= new ConnectionOptions();
        serverOptions.Validate();

        var toServer = new InMemoryPipe(transferCapacity, asyncContinuations: true);
        var toClient = new InMemoryPipe(transferCapacity, asyncContinuations: true);
        var client = StreamConnection.Open(new InMemoryChannel(toClient, new PipeOutlet(toServer), clientEndPoint, serverEndPoint), clientOptions);
        var server = StreamConnection.Open(new InMemoryChannel(toServer, new PipeOutlet(toClient), serverEndPoint, clientEndPoint), serverOptions);
        return new ConnectionPair(client, server);
    }
}
