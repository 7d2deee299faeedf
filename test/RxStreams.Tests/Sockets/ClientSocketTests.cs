using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace RxStreams.Tests.Sockets;

/// <summary>asyncio's <c>open_connection</c> (reference §1.1) and the cold <see cref="Streams.Connect"/> over loopback.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class ClientSocketTests
{
    [Test]
    public async Task OpenConnection_DeconstructsIntoReaderAndWriter_NoDelayOnBothEnds()
    {
        var accepted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var subscription = server.Subscribe(c => accepted.TrySetResult(c));

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        var (reader, writer) = connection;
        await using var serverSide = await accepted.Task.Within();

        Assert.Multiple(() =>
        {
            Assert.That(reader, Is.SameAs(connection.Reader));
            Assert.That(writer, Is.SameAs(connection.Writer));
            Assert.That(reader.Limit, Is.EqualTo(64 * 1024), "asyncio's default limit");
            Assert.That(connection.Socket!.NoDelay, Is.True, "asyncio sets TCP_NODELAY on every TCP socket");
            Assert.That(serverSide.Socket!.NoDelay, Is.True, "accepted sockets too");
            Assert.That(connection.LocalEndPoint, Is.EqualTo(serverSide.RemoteEndPoint));
            Assert.That(connection.RemoteEndPoint, Is.EqualTo(server.EndPoints[0]));
        });
    }

    [Test]
    public async Task OpenConnection_Refused_ThrowsSocketException()
    {
        int port;
        using (var probe = Loopback.Listen())
        {
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        // Nothing listens there any more.
        var refused = Assert.ThrowsAsync<SocketException>(async () => await Streams.OpenConnectionAsync("127.0.0.1", port).Within());
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Streams.OpenConnectionAsync("127.0.0.1", 70000));
    }

    [Test]
    public async Task ConnectObservable_EmitsTheConnection_CompletesWhenItCloses()
    {
        using var listener = Loopback.Listen();
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var accepting = listener.AcceptAsync();

        var connections = Streams.Connect("127.0.0.1", endPoint.Port);
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var emitted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = connections.Subscribe(c => emitted.TrySetResult(c), e => completed.TrySetException(e), () => completed.TrySetResult());

        var connection = await emitted.Task.Within();
        using var peer = await accepting.Within();
        connection.Writer.Write(Loopback.Bytes("via Rx"));
        Assert.That(Loopback.Text(await peer.ReceiveExactlyAsync(6)), Is.EqualTo("via Rx"));

        connection.Writer.Close();
        await completed.Task.Within();
    }

    [Test]
    public async Task ConnectObservable_Unsubscribing_ClosesTheConnection()
    {
        using var listener = Loopback.Listen();
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var accepting = listener.AcceptAsync();

        var emitted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = Streams.Connect("127.0.0.1", endPoint.Port).Subscribe(c => emitted.TrySetResult(c));
        var connection = await emitted.Task.Within();
        using var peer = await accepting.Within();
        Assert.That(connection.Closed.IsCompleted, Is.False);

        subscription.Dispose();

        Assert.That(await peer.ReceiveToEndAsync(), Is.Empty, "unsubscribing closed the connection: the peer reads EOF");
        await connection.Closed.Within();
    }
}
