using System.Net.Security;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>
/// TLS over <see cref="InMemoryConnection.CreatePair"/>: the TLS channel wraps any channel, so the handshake, half-close,
/// close_notify, STARTTLS and the handshake timeout are tested without a socket.
/// </summary>
[TestFixture]
public sealed class TlsOverInMemoryTests
{
    [Test]
    public async Task StartTls_OnBothEndsOfAPair_BothSeeTheSession_BytesCrossEncrypted()
    {
        await using var pair = await SecurePairAsync();
        var (client, server) = pair;

        Assert.That(client.Tls, Is.Not.Null);
        Assert.That(server.Tls, Is.Not.Null);
        Assert.That(client.Tls!.ServerName, Is.EqualTo("localhost"));
        Assert.That(client.Socket, Is.Null, "no socket anywhere");
        Assert.That(client.Writer.GetExtraInfo("ssl_object"), Is.InstanceOf<SslStream>());
        Assert.That(server.Writer.GetExtraInfo("sslcontext"), Is.InstanceOf<SslServerAuthenticationOptions>());

        client.Writer.Write(Loopback.Bytes("hello over memory\n"));
        Assert.That(Loopback.Text(await server.Reader.ReadLineAsync().Within()), Is.EqualTo("hello over memory\n"));
        server.Writer.Write(Loopback.Bytes("and back\n"));
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("and back\n"));
    }

    [Test]
    public async Task LineEcho_PushChainOverTls_ManyRecordsThroughASmallPipe_EveryByteInOrder()
    {
        // A 4 KiB transfer capacity: records wait for the peer to read, so the backpressure path runs under TLS too.
        await using var pair = await SecurePairAsync(transferCapacity: 4096);
        var (client, server) = pair;
        using var echo = server.Reader.Lines().Subscribe(server.Writer);

        const int lines = 2000;
        var sent = new System.Text.StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            sent.Append(System.Globalization.CultureInfo.InvariantCulture, $"line {i} {new string('x', i % 97)}\n");
        }

        var reading = Task.Run(async () =>
        {
            var received = new System.Text.StringBuilder();
            for (int i = 0; i < lines; i++)
            {
                received.Append(Loopback.Text(await client.Reader.ReadLineAsync()));
            }

            return received.ToString();
        });
        client.Writer.Write(Loopback.Bytes(sent.ToString()));
        await client.Writer.DrainAsync().AsTask().Within();

        Assert.That(await reading.Within(), Is.EqualTo(sent.ToString()));
    }

    [Test]
    public async Task HalfClose_OnTls_CloseNotifyThenEnd_PeerStillReplies()
    {
        await using var pair = await SecurePairAsync();
        var (client, server) = pair;
        Assert.That(client.Writer.CanWriteEof, Is.True, "half-close is offered on TLS too (asyncio: False)");

        client.Writer.Write(Loopback.Bytes("question"));
        client.Writer.WriteEof();
        Assert.Throws<InvalidOperationException>(() => client.Writer.Write(Loopback.Bytes("late")));

        var request = await server.Reader.ReadAsync().Within(); // to the end: the client's close_notify
        Assert.That(Loopback.Text(request), Is.EqualTo("question"));
        Assert.That(server.Reader.AtEof, Is.True);
        Assert.That(server.Writer.IsClosing, Is.False, "a peer's close_notify is an EOF, not a close (as a FIN)");

        server.Writer.Write(Loopback.Bytes("reply to question"));
        server.Writer.WriteEof();
        Assert.That(Loopback.Text(await client.Reader.ReadAsync().Within()), Is.EqualTo("reply to question"));
        await client.Writer.WaitClosedAsync().Within(); // both directions done: each end closes by itself
        await server.Writer.WaitClosedAsync().Within();
    }

    [Test]
    public async Task PeerCloseNotify_Push_CompletesTheReader_ConnectionStaysWritable()
    {
        await using var pair = await SecurePairAsync();
        var (client, server) = pair;
        var recording = new RecordingObserver();
        using var subscription = server.Reader.Subscribe(recording);

        client.Writer.Write(Loopback.Bytes("bye"));
        client.Writer.WriteEof();

        Assert.That(await recording.Done.Within(), Is.Null, "OnCompleted on close_notify");
        Assert.That(Loopback.Text(recording.Data), Is.EqualTo("bye"));
        Assert.That(server.Writer.IsClosing, Is.False);
        server.Writer.Write(Loopback.Bytes("still here"));
        server.Writer.Close();
        Assert.That(Loopback.Text(await client.Reader.ReadAsync().Within()), Is.EqualTo("still here"));
        await server.Writer.WaitClosedAsync().Within();
    }

    [Test]
    public async Task GracefulClose_OnTls_PeerReadsEverythingThenTheEnd()
    {
        await using var pair = await SecurePairAsync();
        var (client, server) = pair;
        var payload = new byte[100_000];
        Random.Shared.NextBytes(payload);

        var reading = client.Reader.ReadAsync(); // to the end (the pipe holds less than the payload)
        server.Writer.Write(payload);
        await server.DisposeAsync().AsTask().Within(); // flush, close_notify, then the end

        Assert.That(server.Error, Is.Null);
        Assert.That((await reading.Within()).ToArray(), Is.EqualTo(payload));
        Assert.That(client.Reader.AtEof, Is.True);
    }

    [Test]
    public async Task Abort_OnTls_PeerReadsAResetAfterWhatCameBefore()
    {
        await using var pair = await SecurePairAsync();
        var (client, server) = pair;
        server.Writer.Write(Loopback.Bytes("before\n"));
        await server.Writer.DrainAsync().AsTask().Within();
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("before\n"));

        server.Abort();

        var error = Assert.ThrowsAsync<IOException>(async () => await client.Reader.ReadAsync().Within());
        Assert.That(error!.Message, Does.Contain("reset"), "a reset, as on a socket");
        await client.Closed.Within();
        Assert.That(client.Error, Is.Not.Null);
    }

    [Test]
    public async Task UntrustedServer_HandshakeFails_BothEndsFailWithTheError()
    {
        var (client, server) = InMemoryConnection.CreatePair();
        var serving = server.Writer.StartTlsAsync(new TlsServerOptions(TestCertificates.SelfSigned));
        var connecting = client.Writer.StartTlsAsync(TestCertificates.TrustingClient()); // trusts the test CA only

        Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(async () => await connecting.Within());
        Assert.CatchAsync(
            async () =>
            {
                await serving.Within(); // TLS 1.3: the server may be done before the client checks its certificate
                await server.Reader.ReadAsync().Within(); // then its first read meets the client's reset
            },
            "the server end learns that the client went away");
        await client.Closed.Within();
        await server.Closed.Within();
        Assert.That(client.Error, Is.InstanceOf<System.Security.Authentication.AuthenticationException>());
        Assert.That(server.Error, Is.Not.Null);
    }

    [Test]
    public async Task ClientHandshakeTimeout_SilentPeer_TimeoutExceptionInVirtualTime()
    {
        var scheduler = new AnnouncingTestScheduler();
        var (client, silent) = InMemoryConnection.CreatePair(new ConnectionOptions { Scheduler = scheduler });
        await using var silentGuard = silent; // never reads the ClientHello, never answers
        var tls = TestCertificates.TrustingClient();
        tls.HandshakeTimeout = TimeSpan.FromSeconds(5);

        var connecting = client.Writer.StartTlsAsync(tls);
        Assert.That(await scheduler.FirstTimer.Within(), Is.EqualTo(TimeSpan.FromSeconds(5)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(4));
        Assert.That(connecting.IsCompleted, Is.False);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.ThrowsAsync<TimeoutException>(async () => await connecting.Within());
        await client.Closed.Within();
        Assert.That(client.Error, Is.InstanceOf<TimeoutException>(), "a failed handshake fails the connection");
    }

    [Test]
    public async Task StartTls_BothSides_SameReaderAndWriter_CarryTls()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var (client, server) = pair;
        var serverResult = Task.Run(async () =>
        {
            await server.Reader.ReadLineAsync(); // "STARTTLS"
            server.Writer.Write(Loopback.Bytes("220 go ahead\n"));
            bool plain = server.Writer.GetExtraInfo("sslcontext") is null;
            await server.Writer.StartTlsAsync(TestCertificates.ServerOptions()); // drains the reply first
            var line = await server.Reader.ReadLineAsync();
            server.Writer.Write(line);
            await server.Writer.DrainAsync();
            return (plain, Loopback.Text(line));
        });

        client.Writer.Write(Loopback.Bytes("STARTTLS\n"));
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("220 go ahead\n"));
        await client.Writer.StartTlsAsync(TestCertificates.TrustingClient()).Within();
        client.Writer.Write(Loopback.Bytes("encrypted\n"));
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("encrypted\n"));

        var (plainBefore, line) = await serverResult.Within();
        Assert.That(plainBefore, Is.True);
        Assert.That(line, Is.EqualTo("encrypted\n"));
        Assert.ThrowsAsync<InvalidOperationException>(() => client.Writer.StartTlsAsync(TestCertificates.TrustingClient()), "already TLS");
    }

    [Test]
    public async Task StartTls_WhileTheReaderIsBusy_IsRefused()
    {
        await using var pair = InMemoryConnection.CreatePair();
        var pending = pair.Client.Reader.ReadLineAsync(); // waits: nothing is sent

        Assert.ThrowsAsync<InvalidOperationException>(() => pair.Client.Writer.StartTlsAsync(TestCertificates.TrustingClient()));
        Assert.That(pending.IsCompleted, Is.False);
    }

    /// <summary>A pair whose two ends completed a TLS handshake with each other (server: the test CA's localhost certificate).</summary>
    private static async Task<ConnectionPair> SecurePairAsync(int transferCapacity = InMemoryConnection.DefaultTransferCapacity)
    {
        var pair = InMemoryConnection.CreatePair(transferCapacity: transferCapacity);
        var serving = pair.Server.Writer.StartTlsAsync(TestCertificates.ServerOptions());
        var connecting = pair.Client.Writer.StartTlsAsync(TestCertificates.TrustingClient());
        await Task.WhenAll(serving, connecting).Within();
        return pair;
    }
}
