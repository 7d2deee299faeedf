using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>TLS between the library's client and server over 127.0.0.1: echo, certificates, SNI, ALPN, extra info.</summary>
[TestFixture]
public sealed class TlsConnectionTests
{
    /// <summary>A TLS line echo server (push style: <c>reader.Lines().Subscribe(writer)</c>).</summary>
    private static Task<StreamServer> StartLineEchoAsync(TlsServerOptions tls) =>
        Streams.StartServerAsync(
            (reader, writer) => reader.Lines().ForEachAsync(line => writer.Write(line)).ContinueWith(_ => writer.DrainAsync().AsTask()).Unwrap(),
            "127.0.0.1",
            0,
            new ServerOptions { Tls = tls });

    [Test]
    public async Task Echo_OverTls_PullClient_PushServer()
    {
        var server = await StartLineEchoAsync(TestCertificates.ServerOptions());
        await using var guard = Loopback.Guard(server);

        await using var connection = await Streams.OpenConnectionAsync("localhost", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient(serverName: null), Family = AddressFamily.InterNetwork }).Within();
        var (reader, writer) = connection;
        writer.Write(Loopback.Bytes("hello\nworld\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("hello\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("world\n"));

        Assert.That(connection.Tls, Is.Not.Null);
        Assert.That(connection.Tls!.ServerName, Is.EqualTo("localhost"), "server_hostname defaults to the host");
        Assert.That(connection.Tls.Protocol, Is.AnyOf(SslProtocols.Tls12, SslProtocols.Tls13));
        Assert.That(connection.Tls.RemoteCertificate!.Thumbprint, Is.EqualTo(TestCertificates.Server.Thumbprint));
    }

    [Test]
    public async Task Echo_OverTls_PushClient_BulkWithDrain_ArrivesIntact()
    {
        // 2 MiB through the writer's batching and water marks and back through the reader's receive path.
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                await foreach (var chunk in reader.ReadChunksAsync())
                {
                    writer.Write(chunk);
                    await writer.DrainAsync();
                }
            },
            "127.0.0.1",
            0,
            new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);
        var payload = Loopback.Pattern(2 * 1024 * 1024);

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        var received = connection.Reader.ToEnd(limit: payload.Length).FirstAsync().ToTask();
        for (int offset = 0; offset < payload.Length; offset += 100_000)
        {
            connection.Writer.Write(payload.AsSpan(offset, Math.Min(100_000, payload.Length - offset)));
            await connection.Writer.DrainAsync().Within();
        }

        connection.Writer.WriteEof(); // close_notify + FIN: the server's loop ends, it closes, our ToEnd completes
        var echoed = await received.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(echoed.ToArray(), Is.EqualTo(payload));
    }

    [Test]
    public async Task Sni_ReachesTheServer_AndSelectsTheCertificateByName()
    {
        var seen = new List<string?>();
        var certificates = new Dictionary<string, X509Certificate2>
        {
            ["alpha.test"] = TestCertificates.ServerFor("alpha.test"),
            ["beta.test"] = TestCertificates.ServerFor("beta.test"),
        };
        var tls = new TlsServerOptions
        {
            CertificateSelector = name =>
            {
                lock (seen)
                {
                    seen.Add(name);
                }

                return name is not null && certificates.TryGetValue(name, out var certificate) ? certificate : null;
            },
        };
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = tls });
        await using var guard = Loopback.Guard(server);
        var accepted = server.FirstAsync().ToTask();

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient("beta.test") }).Within();
        await using var serverSide = await accepted.Within();

        Assert.That(seen, Does.Contain("beta.test"));
        Assert.That(serverSide.Tls!.ServerName, Is.EqualTo("beta.test"), "the server sees the SNI name");
        Assert.That(client.Tls!.RemoteCertificate!.Thumbprint, Is.EqualTo(certificates["beta.test"].Thumbprint));
    }

    [Test]
    public async Task SelfSignedServer_IsRefusedByDefault_AcceptedWithTheOptOut()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = new TlsServerOptions(TestCertificates.SelfSigned) });
        await using var guard = Loopback.Guard(server);
        using var serving = server.Subscribe(c => c.Dispose());

        Assert.ThrowsAsync<AuthenticationException>(async () =>
            await Streams.OpenConnectionAsync("localhost", server.Port(), new ConnectionOptions { Tls = new TlsClientOptions(), Family = AddressFamily.InterNetwork }).Within());

        await using var accepted = await Streams.OpenConnectionAsync("localhost", server.Port(), new ConnectionOptions { Tls = new TlsClientOptions { DangerousAcceptAnyServerCertificate = true }, Family = AddressFamily.InterNetwork }).Within();
        Assert.That(accepted.Tls!.RemoteCertificate!.Thumbprint, Is.EqualTo(TestCertificates.SelfSigned.Thumbprint));
    }

    [Test]
    public async Task WrongName_IsRefused_EmptyServerNameSkipsOnlyTheNameCheck()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);
        using var serving = server.Subscribe(c => c.Dispose());

        Assert.ThrowsAsync<AuthenticationException>(async () =>
            await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient("not-this-server.test") }).Within());

        // asyncio: server_hostname='' turns the host name check off (the chain is still verified).
        await using var noName = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient("") }).Within();
        Assert.That(noName.Tls!.ServerName, Is.Null);

        var untrustedNoName = new TlsClientOptions { ServerName = "" };
        Assert.ThrowsAsync<AuthenticationException>(async () =>
            await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = untrustedNoName }).Within(), "an untrusted chain still fails");
    }

    [Test]
    public async Task RequiredClientCertificate_Missing_FailsTheHandshake_ReportedOnErrors()
    {
        var tls = TestCertificates.ServerOptions();
        tls.ClientCertificates = ClientCertificateMode.Required;
        tls.TrustedClientRoots.Add(TestCertificates.Ca);
        var server = await Streams.StartServerAsync(static (reader, writer) => { writer.Write(Loopback.Bytes("secret\n")); return Task.CompletedTask; }, "127.0.0.1", 0, new ServerOptions { Tls = tls });
        await using var guard = Loopback.Guard(server);
        var error = server.Errors.FirstAsync().ToTask();

        // With TLS 1.3 the client may finish its side before the server refuses it; either way no byte reaches it.
        string outcome;
        try
        {
            await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
            var data = await client.Reader.ReadAsync().Within();
            outcome = data.IsEmpty ? "eof" : "data";
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            outcome = "refused";
        }

        Assert.That(outcome, Is.Not.EqualTo("data"));
        Assert.That(await error.Within(), Is.InstanceOf<AuthenticationException>());
        Assert.That(() => server.ConnectionCount, Is.Zero.After(5000, 20));
    }

    [Test]
    public async Task PlaintextPeer_OnATlsServer_LosesOnlyItsOwnConnection()
    {
        var server = await StartLineEchoAsync(TestCertificates.ServerOptions());
        await using var guard = Loopback.Guard(server);
        var error = server.Errors.FirstAsync().ToTask();

        using var plain = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await plain.SendAllAsync("GET / HTTP/1.0\r\n\r\n"); // not a ClientHello
        Assert.That(await error.Within(), Is.InstanceOf<System.Security.Authentication.AuthenticationException>().Or.InstanceOf<IOException>());
        try
        {
            await plain.ReceiveToEndAsync(); // aborted: an EOF or a reset, never an echo
        }
        catch (SocketException reset)
        {
            Assert.That(reset.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
        }

        await using var good = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        good.Writer.Write(Loopback.Bytes("still serving\n"));
        Assert.That(Loopback.Text(await good.Reader.ReadLineAsync().Within()), Is.EqualTo("still serving\n"));
    }

    [Test]
    public async Task ClientCertificate_IsAccepted_AndVisibleToTheServer()
    {
        var tls = TestCertificates.ServerOptions();
        tls.ClientCertificates = ClientCertificateMode.Required;
        tls.TrustedClientRoots.Add(TestCertificates.Ca);
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = tls });
        await using var guard = Loopback.Guard(server);
        var accepted = server.FirstAsync().ToTask();

        var clientTls = TestCertificates.TrustingClient();
        clientTls.ClientCertificate = TestCertificates.Client;
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = clientTls }).Within();
        await using var serverSide = await accepted.Within();

        Assert.That(serverSide.Tls!.RemoteCertificate!.Thumbprint, Is.EqualTo(TestCertificates.Client.Thumbprint));
        Assert.That(((X509Certificate2)serverSide.Writer.GetExtraInfo("peercert")!).Thumbprint, Is.EqualTo(TestCertificates.Client.Thumbprint));
        Assert.That(serverSide.Tls.IsServer, Is.True);
    }

    [Test]
    public async Task OptionalClientCertificate_ClientWithoutOne_IsAccepted_PeercertIsNull()
    {
        var tls = TestCertificates.ServerOptions();
        tls.ClientCertificates = ClientCertificateMode.Optional;
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = tls });
        await using var guard = Loopback.Guard(server);
        var accepted = server.FirstAsync().ToTask();

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        await using var serverSide = await accepted.Within();

        Assert.That(serverSide.Tls!.RemoteCertificate, Is.Null);
        Assert.That(serverSide.Writer.GetExtraInfo("peercert", "default"), Is.Null, "a TLS key is present, with no value");
    }

    [Test]
    public async Task Alpn_IsNegotiated()
    {
        var tls = TestCertificates.ServerOptions();
        tls.ApplicationProtocols.Add(SslApplicationProtocol.Http2);
        tls.ApplicationProtocols.Add(SslApplicationProtocol.Http11);
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = tls });
        await using var guard = Loopback.Guard(server);
        var accepted = server.FirstAsync().ToTask();

        var clientTls = TestCertificates.TrustingClient();
        clientTls.ApplicationProtocols.Add(SslApplicationProtocol.Http11);
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = clientTls }).Within();
        await using var serverSide = await accepted.Within();

        Assert.That(client.Tls!.ApplicationProtocol, Is.EqualTo(SslApplicationProtocol.Http11));
        Assert.That(serverSide.Tls!.ApplicationProtocol, Is.EqualTo(SslApplicationProtocol.Http11));
    }

    [Test]
    public async Task ExtraInfo_TlsKeys_OnTls_AndDefaultOnPlainTcp()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);
        using var serving = server.Subscribe(c => { });

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        var writer = client.Writer;
        Assert.That(writer.GetExtraInfo("ssl_object"), Is.InstanceOf<SslStream>());
        Assert.That(writer.GetExtraInfo("sslcontext"), Is.InstanceOf<SslClientAuthenticationOptions>());
        Assert.That(writer.GetExtraInfo("compression", "default"), Is.Null);
        var cipher = ((string Name, string Version, int Bits))writer.GetExtraInfo("cipher")!;
        Assert.That(cipher.Name, Is.EqualTo(client.Tls!.CipherSuite.ToString()));
        Assert.That(cipher.Version, Is.AnyOf("TLSv1.2", "TLSv1.3"));
        Assert.That(cipher.Bits, Is.AnyOf(128, 256));
        Assert.That(writer.Tls, Is.SameAs(client.Tls));

        var plainServer = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var plainGuard = Loopback.Guard(plainServer);
        using var plainServing = plainServer.Subscribe(c => { });
        await using var plain = await Streams.OpenConnectionAsync("127.0.0.1", plainServer.Port()).Within();
        foreach (var key in new[] { "peercert", "cipher", "ssl_object", "sslcontext", "compression" })
        {
            Assert.That(plain.Writer.GetExtraInfo(key), Is.Null, key);
            Assert.That(plain.Writer.GetExtraInfo(key, "default"), Is.EqualTo("default"), key);
        }

        Assert.That(plain.Tls, Is.Null);
    }

    [Test]
    public async Task TlsOverUnixSocket_Echoes()
    {
        string directory = Directory.CreateTempSubdirectory("rxstreams-tls-").FullName;
        try
        {
            string path = Path.Combine(directory, "tls.sock");
            var server = await Streams.StartUnixServerAsync(
                async (reader, writer) =>
                {
                    var line = await reader.ReadLineAsync();
                    writer.Write(line);
                    await writer.DrainAsync();
                },
                path,
                new ServerOptions { Tls = TestCertificates.ServerOptions() });
            await using var guard = Loopback.Guard(server);

            Assert.ThrowsAsync<ArgumentException>(() => Streams.OpenUnixConnectionAsync(path, new ConnectionOptions { Tls = new TlsClientOptions() }), "asyncio: a Unix socket has no host: server_hostname is required");

            await using var client = await Streams.OpenUnixConnectionAsync(path, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
            client.Writer.Write(Loopback.Bytes("over unix\n"));
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("over unix\n"));
            Assert.That(Loopback.Text(await client.Reader.ReadAsync().Within()), Is.Empty, "the handler returned: close_notify, then EOF");
            Assert.That(client.Tls!.ServerName, Is.EqualTo("localhost"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task ArgumentChecks_AtTheCall()
    {
        Assert.ThrowsAsync<ArgumentException>(() => Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = new TlsServerOptions() }), "a server needs a certificate");
        var clientSlot = new ServerOptions();
        ((ConnectionOptions)clientSlot).Tls = TestCertificates.TrustingClient();
        Assert.ThrowsAsync<ArgumentException>(() => Streams.StartServerAsync("127.0.0.1", 0, clientSlot), "client TLS options on a server");
        Assert.Throws<ArgumentException>(() => new TlsServerOptions { Certificate = X509CertificateLoader.LoadCertificate(TestCertificates.Server.RawData) }, "no private key");
        Assert.Throws<ArgumentOutOfRangeException>(() => new TlsClientOptions { HandshakeTimeout = TimeSpan.Zero });

        using var listener = Loopback.Listen();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(listener.LocalEndPoint!).Within();
        Assert.Throws<ArgumentException>(() => Streams.OpenConnection(socket, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }), "the synchronous form cannot handshake");
        Assert.ThrowsAsync<ArgumentException>(() => Streams.OpenConnectionAsync(socket, new ConnectionOptions { Tls = new TlsClientOptions() }), "a socket has no host: ServerName is required");
    }

    [Test]
    public async Task ServerCertificate_FromPemFiles_SeparateOrCombined_AndFromPfx()
    {
        string directory = Directory.CreateTempSubdirectory("rxstreams-pem-").FullName;
        try
        {
            var (certPath, keyPath) = TestCertificates.WritePem(TestCertificates.Server, directory);
            string combined = Path.Combine(directory, "combined.pem");
            File.WriteAllText(combined, File.ReadAllText(certPath) + "\n" + File.ReadAllText(keyPath) + "\n");
            string pfx = Path.Combine(directory, "server.pfx");
            File.WriteAllBytes(pfx, TestCertificates.Server.Export(X509ContentType.Pkcs12, "secret"));

            foreach (var tls in new[] { TlsServerOptions.FromPemFiles(certPath, keyPath), TlsServerOptions.FromPemFiles(combined), TlsServerOptions.FromPfxFile(pfx, "secret") })
            {
                Assert.That(tls.Certificate!.HasPrivateKey, Is.True);
                var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = tls });
                await using var guard = Loopback.Guard(server);
                using var serving = server.Subscribe(c => { });
                await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
                Assert.That(client.Tls!.RemoteCertificate!.Thumbprint, Is.EqualTo(TestCertificates.Server.Thumbprint));
            }

            Assert.Throws<System.Security.Cryptography.CryptographicException>(() => TlsServerOptions.FromPfxFile(pfx, "wrong"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task OpenConnectionAsync_OnAConnectedSocket_HandshakesOverIt()
    {
        var server = await StartLineEchoAsync(TestCertificates.ServerOptions());
        await using var guard = Loopback.Guard(server);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port())).Within();

        await using var client = await Streams.OpenConnectionAsync(socket, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        client.Writer.Write(Loopback.Bytes("sock=\n"));
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("sock=\n"));
    }

    [Test]
    public async Task ColdConnect_OverTls()
    {
        var server = await StartLineEchoAsync(TestCertificates.ServerOptions());
        await using var guard = Loopback.Guard(server);

        var reply = await Streams.Connect("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient() })
            .SelectMany(async connection =>
            {
                connection.Writer.Write(Loopback.Bytes("cold\n"));
                return Loopback.Text(await connection.Reader.ReadLineAsync());
            })
            .FirstAsync()
            .ToTask()
            .Within();
        Assert.That(reply, Is.EqualTo("cold\n"));
    }
}
