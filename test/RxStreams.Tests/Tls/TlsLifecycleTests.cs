using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>
/// The TLS lifecycle where a socket matters: the server's handshake timeout, a peer's TCP end without close_notify,
/// STARTTLS with a ClientHello in the same TCP segment as the last plaintext line. The rest runs without sockets in
/// <see cref="TlsOverInMemoryTests"/>.
/// </summary>
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
}
