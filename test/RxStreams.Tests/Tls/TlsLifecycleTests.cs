using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>Handshake timeout in virtual time, half-close and peer close_notify, STARTTLS with pipelined bytes.</summary>
[TestFixture]
public sealed class TlsLifecycleTests
{
    [Test]
    public async Task ServerHandshakeTimeout_SilentPeer_AbortedAfter60VirtualSeconds()
    {
        var scheduler = new AnnouncingTestScheduler();
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = TestCertificates.ServerOptions(), Scheduler = scheduler });
        var error = server.Errors.FirstAsync().ToTask();
        var delivered = 0;
        using var serving = server.Subscribe(_ => Interlocked.Increment(ref delivered));
        using var silent = await Loopback.ConnectRawAsync(server.EndPoints[0]); // connects, never sends a ClientHello

        Assert.That(await scheduler.FirstTimer.Within(), Is.EqualTo(TimeSpan.FromSeconds(60)), "asyncio's default ssl_handshake_timeout");
        scheduler.AdvanceBy(TimeSpan.FromSeconds(59));
        Assert.That(error.IsCompleted, Is.False, "59 s of virtual time: still waiting");
        Assert.That(server.ConnectionCount, Is.EqualTo(1));

        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        var timeout = await error.Within();
        Assert.That(timeout, Is.InstanceOf<TimeoutException>());
        Assert.That(timeout.Message, Does.Contain("handshake"));

        // The peer learns at once: a reset (or an EOF), never a hang; the server goes on and never delivered it.
        try
        {
            Assert.That(await silent.ReceiveToEndAsync(), Is.Empty);
        }
        catch (SocketException reset)
        {
            Assert.That(reset.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
        }

        Assert.That(() => server.ConnectionCount, Is.Zero.After(5000, 20));
        Assert.That(delivered, Is.Zero);
        server.Close();
        await server.WaitClosedAsync().Within();
    }

    [Test]
    public async Task ClientHandshakeTimeout_SilentServer_TimeoutExceptionInVirtualTime()
    {
        var scheduler = new AnnouncingTestScheduler();
        using var listener = Loopback.Listen();
        var accepted = listener.AcceptAsync();
        var tls = TestCertificates.TrustingClient();
        tls.HandshakeTimeout = TimeSpan.FromSeconds(5);

        var connecting = Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, new ConnectionOptions { Tls = tls, Scheduler = scheduler });
        using var peer = await accepted.Within(); // accepts, reads the ClientHello, never answers
        Assert.That(await scheduler.FirstTimer.Within(), Is.EqualTo(TimeSpan.FromSeconds(5)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(4));
        Assert.That(connecting.IsCompleted, Is.False);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.ThrowsAsync<TimeoutException>(async () => await connecting.Within());
    }

    [Test]
    public async Task HalfClose_OnTls_CloseNotifyThenFin_PeerStillReplies()
    {
        var serverSaw = new TaskCompletionSource<(string Request, bool ClosingAfterPeerEof, bool AtEof)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                var request = await reader.ReadAsync(); // to the end: the client's close_notify
                serverSaw.TrySetResult((Loopback.Text(request), writer.IsClosing, reader.AtEof));
                writer.Write(Loopback.Bytes("reply to " + Loopback.Text(request)));
                await writer.DrainAsync();
            },
            "127.0.0.1",
            0,
            new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        Assert.That(client.Writer.CanWriteEof, Is.True, "half-close is offered on TLS too (asyncio: False)");
        client.Writer.Write(Loopback.Bytes("question"));
        client.Writer.WriteEof();
        Assert.Throws<InvalidOperationException>(() => client.Writer.Write(Loopback.Bytes("late")));

        var saw = await serverSaw.Task.Within();
        Assert.That(saw.Request, Is.EqualTo("question"));
        Assert.That(saw.AtEof, Is.True);
        Assert.That(saw.ClosingAfterPeerEof, Is.False, "a peer's close_notify is an EOF, not a close (as a TCP FIN)");
        Assert.That(Loopback.Text(await client.Reader.ReadAsync().Within()), Is.EqualTo("reply to question"));
        await client.Writer.WaitClosedAsync().Within(); // both directions done: the connection closes by itself
    }

    [Test]
    public async Task PeerCloseNotify_Push_CompletesTheReader_ConnectionStaysWritable()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);
        var accepted = server.FirstAsync().ToTask();
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        await using var serverSide = await accepted.Within();
        var recording = new RecordingObserver();
        using var subscription = serverSide.Reader.Subscribe(recording);

        client.Writer.Write(Loopback.Bytes("bye"));
        client.Writer.WriteEof();

        Assert.That(await recording.Done.Within(), Is.Null, "OnCompleted on close_notify");
        Assert.That(Loopback.Text(recording.Data), Is.EqualTo("bye"));
        Assert.That(serverSide.Writer.IsClosing, Is.False);
        serverSide.Writer.Write(Loopback.Bytes("still here"));
        serverSide.Writer.Close();
        Assert.That(Loopback.Text(await client.Reader.ReadAsync().Within()), Is.EqualTo("still here"));
        await serverSide.Writer.WaitClosedAsync().Within();
    }

    [Test]
    public async Task PeerClosesTcpWithoutCloseNotify_ReaderSeesEof_AfterEveryByte()
    {
        using var listener = Loopback.Listen();
        var serving = Task.Run(async () =>
        {
            using var socket = await listener.AcceptAsync();
            var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = TestCertificates.Server });
            await ssl.WriteAsync(Loopback.Bytes("last words"));
            socket.Shutdown(SocketShutdown.Both); // a FIN, no close_notify (SslStream.Dispose does not send one)
        });

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        var recording = new RecordingObserver();
        using var subscription = client.Reader.Subscribe(recording);

        Assert.That(await recording.Done.Within(), Is.Null, "OnCompleted: a TCP end at a record boundary is an EOF");
        Assert.That(Loopback.Text(recording.Data), Is.EqualTo("last words"));
        await serving.Within();
    }

    [Test]
    public async Task StartTls_ServerSide_ClientHelloPipelinedBehindThePlaintextLine_IsNotLost()
    {
        var bufferedBeforeUpgrade = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                var command = await reader.ReadLineAsync();
                if (Loopback.Text(command) != "STARTTLS\r\n")
                {
                    throw new InvalidOperationException("unexpected " + Loopback.Text(command));
                }

                bufferedBeforeUpgrade.TrySetResult(reader.BufferedLength);
                await writer.StartTlsAsync(TestCertificates.ServerOptions());
                var line = await reader.ReadLineAsync();
                writer.Write(Loopback.Bytes("secure echo: " + Loopback.Text(line)));
                await writer.DrainAsync();
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);
        var errors = server.Errors.FirstOrDefaultAsync().ToTask();

        using var socket = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await using var ssl = new SslStream(new PrefixFirstWriteStream(socket, Loopback.Bytes("STARTTLS\r\n")));
        var trust = TestCertificates.TrustingClient();
        await ssl.AuthenticateAsClientAsync(trust.Build("localhost", "tls")).Within(); // the line and the ClientHello in one send

        Assert.That(await bufferedBeforeUpgrade.Task.Within(), Is.GreaterThan(0), "the ClientHello was in the reader's buffer at the upgrade");
        await ssl.WriteAsync(Loopback.Bytes("inside\n")).AsTask().Within();
        var reply = new byte[64];
        int n = await ssl.ReadAsync(reply).AsTask().Within();
        Assert.That(Loopback.Text(reply.AsMemory(0, n)), Is.EqualTo("secure echo: inside\n"));
        Assert.That(errors.IsCompleted, Is.False, errors.IsCompleted ? errors.Result?.ToString() : null);
    }

    [Test]
    public async Task StartTls_BothSides_SameReaderAndWriter_CarryTls()
    {
        var serverResult = new TaskCompletionSource<(bool PlainBefore, string Line, object? Context)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                await reader.ReadLineAsync(); // "STARTTLS"
                writer.Write(Loopback.Bytes("220 go ahead\n"));
                bool plain = writer.GetExtraInfo("sslcontext") is null;
                await writer.StartTlsAsync(TestCertificates.ServerOptions()); // drains the reply first
                var line = await reader.ReadLineAsync();
                serverResult.TrySetResult((plain, Loopback.Text(line), writer.GetExtraInfo("sslcontext")));
                writer.Write(line);
                await writer.DrainAsync();
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);

        await using var client = await Streams.OpenConnectionAsync("localhost", server.Port(), new ConnectionOptions { Family = AddressFamily.InterNetwork }).Within();
        var (reader, writer) = client;
        writer.Write(Loopback.Bytes("STARTTLS\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("220 go ahead\n"));
        await writer.StartTlsAsync(TestCertificates.TrustingClient(serverName: null)).Within(); // server name: the host, localhost
        writer.Write(Loopback.Bytes("encrypted\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("encrypted\n"));

        var result = await serverResult.Task.Within();
        Assert.That(result.PlainBefore, Is.True);
        Assert.That(result.Line, Is.EqualTo("encrypted\n"));
        Assert.That(result.Context, Is.InstanceOf<SslServerAuthenticationOptions>());
        Assert.That(client.Tls!.ServerName, Is.EqualTo("localhost"));
        Assert.ThrowsAsync<InvalidOperationException>(() => writer.StartTlsAsync(TestCertificates.TrustingClient()), "already TLS");
    }

    [Test]
    public async Task StartTls_WhileTheReaderIsBusy_IsRefused()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var serving = server.Subscribe(_ => { });
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        var pending = client.Reader.ReadLineAsync(); // waits: nothing is sent

        Assert.ThrowsAsync<InvalidOperationException>(() => client.Writer.StartTlsAsync(TestCertificates.TrustingClient()));
        Assert.That(pending.IsCompleted, Is.False);
    }
}
