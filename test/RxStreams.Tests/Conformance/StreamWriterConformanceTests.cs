using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Conformance;

/// <summary>
/// CPython's <c>test_streams.py</c> tests that need a real connection (its <c>run_test_server</c> is an HTTP server;
/// here a raw loopback peer plays it). Each test names the CPython test it ports.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class StreamWriterConformanceTests
{
    private const string Response = "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nTest message";

    /// <summary>A one-shot HTTP/1.0-ish peer: reads the request line, answers, closes.</summary>
    private static async Task ServeOneAsync(Socket listener)
    {
        using var peer = await listener.AcceptAsync().Within();
        var request = new byte[64];
        int have = 0;
        while (!Loopback.Text(request.AsMemory(0, have)).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await peer.ReceiveAsync(request.AsMemory(have), SocketFlags.None).AsTask().Within();
            if (n == 0)
            {
                return;
            }

            have += n;
        }

        await peer.SendAllAsync(Response);
        peer.Shutdown(SocketShutdown.Send);
        await peer.ReceiveToEndAsync(); // until the client closes
    }

    private static async Task<(StreamConnection Connection, Task Server)> OpenToHttpPeerAsync(Socket listener)
    {
        var server = ServeOneAsync(listener);
        var connection = await Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port).Within();
        return (connection, server);
    }

    /// <summary>Sends the request and reads the whole answer: the status line with readline, then the rest with read().</summary>
    private static async Task<(string StatusLine, string Body)> RequestAsync(StreamConnection connection)
    {
        connection.Writer.Write(Loopback.Bytes("GET / HTTP/1.0\r\n\r\n"));
        string statusLine = Loopback.Text(await connection.Reader.ReadLineAsync().Within());
        return (statusLine, Loopback.Text(await connection.Reader.ReadAsync().Within()));
    }

    [Test] // test_open_connection, test_async_writer_api
    public async Task OpenConnection_ReadLineThenReadToEof()
    {
        using var listener = Loopback.Listen();
        var (connection, server) = await OpenToHttpPeerAsync(listener);
        var writer = connection.Writer;

        var (statusLine, rest) = await RequestAsync(connection);
        Assert.That(statusLine, Is.EqualTo("HTTP/1.0 200 OK\r\n"));
        Assert.That(rest, Does.EndWith("\r\n\r\nTest message"));
        writer.Close();
        await writer.WaitClosedAsync().Within();
        await server.Within();
    }

    [Test] // test_wait_closed_on_close
    public async Task WaitClosed_OnClose()
    {
        using var listener = Loopback.Listen();
        var (connection, server) = await OpenToHttpPeerAsync(listener);
        var writer = connection.Writer;
        await RequestAsync(connection);

        Assert.That(writer.IsClosing, Is.False);
        writer.Close();
        Assert.That(writer.IsClosing, Is.True);
        await writer.WaitClosedAsync().Within();
        await server.Within();
    }

    [Test] // test_wait_closed_on_close_with_unread_data
    public async Task WaitClosed_OnCloseWithUnreadData()
    {
        using var listener = Loopback.Listen();
        var (connection, server) = await OpenToHttpPeerAsync(listener);
        var (reader, writer) = connection;
        writer.Write(Loopback.Bytes("GET / HTTP/1.0\r\n\r\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("HTTP/1.0 200 OK\r\n"));

        writer.Close();
        await writer.WaitClosedAsync().Within();
        await server.Within();
    }

    [Test] // test_eof_feed_when_closing_writer (bpo-35065): after close + wait_closed the reader is at EOF
    public async Task EofFeed_WhenClosingWriter()
    {
        using var listener = Loopback.Listen();
        var (connection, server) = await OpenToHttpPeerAsync(listener);
        var (reader, writer) = connection;

        writer.Close();
        await writer.WaitClosedAsync().Within();

        Assert.That(reader.AtEof, Is.True);
        Assert.That((await reader.ReadAsync().Within()).IsEmpty, Is.True);
        await server.Within();
    }

    [Test] // asyncio's close() is a FIN close even while the connection's reader waits for data (test_close_clients' clients see EOF)
    public async Task Close_WhileTheReaderWaits_PeerSeesFinNotReset()
    {
        var waiting = new TaskCompletionSource<ConnectionWriter>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                var read = reader.ReadAsync();
                writer.Write(Loopback.Pattern(256 * 1024)); // more than one send: the kernel still holds some at close
                waiting.TrySetResult(writer);
                await read;
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        var writer = await waiting.Task.Within();

        writer.Close();
        var received = await client.ReceiveToEndAsync(); // a reset would throw here

        Assert.That(received.AsSpan().SequenceEqual(Loopback.Pattern(256 * 1024)), Is.True, "everything written arrives, then EOF");
    }

    [Test] // test_async_writer_api_exception_after_close (differs on purpose: write after close throws at once)
    public async Task WriterApi_ExceptionAfterClose()
    {
        using var listener = Loopback.Listen();
        var (connection, server) = await OpenToHttpPeerAsync(listener);
        var writer = connection.Writer;
        await RequestAsync(connection);

        writer.Close();

        // asyncio: write() drops the data silently and drain() raises ConnectionResetError. RxStreams: "writes never vanish".
        Assert.That(() => writer.Write(Loopback.Bytes("data")), Throws.InvalidOperationException);
        await writer.WaitClosedAsync().Within();
        Assert.That(async () => await writer.DrainAsync(), Throws.InstanceOf<IOException>());
        await server.Within();
    }

    [Test] // test_drain_raises (bpo-25441): a write/drain loop to a peer that closed ends with an error, not a hang
    public async Task Drain_Raises()
    {
        using var listener = Loopback.Listen();
        var accepted = Task.Run(async () =>
        {
            using var peer = await listener.AcceptAsync();
            peer.Close();
        });
        var (_, writer) = await Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port).Within();
        await accepted.Within();

        var line = Loopback.Bytes("foo\n");
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        Exception? error = null;
        for (int i = 0; i < 1_000_000 && DateTime.UtcNow < deadline && error is null; i++)
        {
            try
            {
                writer.Write(line);
                await writer.DrainAsync().Within();
            }
            catch (IOException lost)
            {
                error = lost;
            }
        }

        Assert.That(error, Is.Not.Null, "the loop must end with the connection's error (reset / broken pipe)");
        Assert.That(error!.InnerException, Is.InstanceOf<SocketException>());
    }

    [Test] // test_multiple_drain (gh-74116): ten concurrent drains are all released by one resume
    public async Task MultipleDrain()
    {
        await using var pair = await ClientAndPeer.OpenAsync(peerReceiveBuffer: Loopback.SmallSocketBuffer);
        pair.Writer.Socket!.SendBufferSize = Loopback.SmallSocketBuffer;
        var writer = pair.Writer;
        const int Size = 4 * 1024 * 1024; // far more than both kernel buffers: the writer pauses
        writer.Write(Loopback.Pattern(Size));

        var drains = Enumerable.Range(0, 10).Select(_ => writer.DrainAsync().AsTask()).ToArray();
        Assert.That(writer.IsPaused, Is.True);

        var received = await pair.Peer.ReceiveExactlyAsync(Size).Within();
        await Task.WhenAll(drains).Within();

        Assert.That(drains.All(static d => d.IsCompletedSuccessfully), Is.True);
        Assert.That(received.AsSpan().SequenceEqual(Loopback.Pattern(Size)), Is.True);
    }
}
