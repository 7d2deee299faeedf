using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using RxStreams.Hosting;
using RxStreams.Tests.Sockets;
using RxStreams.Tests.Tls;

namespace RxStreams.Tests.Hosting;

/// <summary>
/// The production options a hosted server takes from configuration (issue 14, item 2): TLS from PEM or PFX files, the
/// client-certificate mode and handshake timeout, the timeouts, the connection cap, the PROXY protocol, and the host's
/// logger handed to the library.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class HostedServerOptionsTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("rxstreams-hosting-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private static async Task LineEcho(ConnectionReader reader, ConnectionWriter writer)
    {
        await foreach (var line in reader.ReadLinesAsync(writer.CloseRequested))
        {
            writer.Write(line);
        }
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<OptionsBuilder<RxStreamsServerOptions>>? configure = null, ILoggerProvider? logger = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        if (logger is not null)
        {
            builder.Logging.AddProvider(logger);
        }

        builder.Configuration.AddInMemoryCollection(settings);
        var options = builder.Services.AddRxStreamsServer("echo", builder.Configuration.GetSection("Servers:echo"), LineEcho);
        configure?.Invoke(options);
        return builder.Build();
    }

    private static int PortOf(IHost host) =>
        ((IPEndPoint)host.Services.GetRequiredKeyedService<RxStreamsHostedServer>("echo").Server.EndPoints[0]).Port;

    private static Dictionary<string, string?> Loopback0(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Servers:echo:Hosts:0"] = "127.0.0.1", ["Servers:echo:Port"] = "0" };
        foreach (var (key, value) in more)
        {
            settings["Servers:echo:" + key] = value;
        }

        return settings;
    }

    [Test]
    public async Task EveryProductionOption_ReachesTheLibrary_FromConfiguration()
    {
        ServerOptions? seen = null;
        using var host = BuildHost(
            Loopback0(
                ("IdleTimeout", "00:05:00"),
                ("FrameTimeout", "00:00:30"),
                ("MaxConnections", "3"),
                ("ProxyProtocol", "Required"),
                ("ProxyProtocolTimeout", "00:00:07"),
                ("ProxyProtocolMaxHeaderLength", "1024"),
                ("ReusePort", "true"),
                ("Backlog", "17"),
                ("WriteBufferOverflow", "RejectWrite"),
                ("MaxConnectionsPerClient", "2"),
                ("MaxConnectionRatePerClient", "5"),
                ("ConnectionRatePeriod", "00:00:10"),
                ("MaxConnectionAge", "00:30:00"),
                ("MaxConnectionAgeJitter", "00:01:00")),
            options => options.Configure(o => o.ConfigureServer = s => seen = s));

        await host.StartAsync().Within();
        try
        {
            Assert.That(seen, Is.Not.Null);
            Assert.That(seen!.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
            Assert.That(seen.FrameTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(seen.MaxConnections, Is.EqualTo(3));
            Assert.That(seen.ProxyProtocol, Is.EqualTo(ProxyProtocolMode.Required));
            Assert.That(seen.ProxyProtocolTimeout, Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(seen.ProxyProtocolMaxHeaderLength, Is.EqualTo(1024));
            Assert.That(seen.ReusePort, Is.True);
            Assert.That(seen.Backlog, Is.EqualTo(17));
            Assert.That(seen.WriteBufferOverflow, Is.EqualTo(WriteBufferOverflowPolicy.RejectWrite));
            Assert.That(seen.MaxConnectionsPerClient, Is.EqualTo(2));
            Assert.That(seen.MaxConnectionRatePerClient, Is.EqualTo(5));
            Assert.That(seen.ConnectionRatePeriod, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(seen.MaxConnectionAge, Is.EqualTo(TimeSpan.FromMinutes(30)));
            Assert.That(seen.MaxConnectionAgeJitter, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(seen.LoggerFactory, Is.Not.Null, "the host's ILoggerFactory");
            Assert.That(seen.Tls, Is.Null, "no Tls section: plaintext");
        }
        finally
        {
            await host.StopAsync().Within();
        }
    }

    [Test]
    public async Task ProxyProtocolFromConfiguration_TheHandlerSeesTheClientTheHeaderNames()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(Loopback0(("ProxyProtocol", "Required"), ("ProxyProtocolTimeout", "00:00:10")));
        builder.Services.AddRxStreamsServer("echo", builder.Configuration.GetSection("Servers:echo"), (reader, writer) =>
        {
            writer.Write(Encoding.ASCII.GetBytes($"{writer.GetExtraInfo("peername")}\n"));
            return Task.CompletedTask;
        });
        using var host = builder.Build();
        await host.StartAsync().Within();

        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", PortOf(host)).Within();
        client.Writer.Write(Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 5555 7000\r\n"));
        var reply = Loopback.Text(await client.Reader.ReadLineAsync().Within());

        Assert.That(reply, Does.Contain("203.0.113.7").And.Contain("5555"));
        await host.StopAsync().Within();
    }

    [Test]
    public async Task IdleTimeoutFromConfiguration_ShedsASilentClient()
    {
        using var host = BuildHost(Loopback0(("IdleTimeout", "00:00:00.200")));
        await host.StartAsync().Within();

        await using var silent = await Streams.OpenConnectionAsync("127.0.0.1", PortOf(host)).Within();
        try
        {
            var data = await silent.Reader.ReadAsync(-1).Within(); // the server aborts it: an EOF or a reset
            Assert.That(data.Length, Is.Zero);
        }
        catch (IOException)
        {
            // A reset: shed as well.
        }

        await host.StopAsync().Within();
    }

    [Test]
    public async Task TlsFromPemFiles_RequiredClientCertificate_FromConfiguration()
    {
        var (certificatePath, keyPath) = TestCertificates.WritePem(TestCertificates.Server, _directory);
        string rootsPath = Path.Combine(_directory, "clients-ca.pem");
        await File.WriteAllTextAsync(rootsPath, TestCertificates.Ca.ExportCertificatePem());
        using var host = BuildHost(Loopback0(
            ("Tls:CertificatePath", certificatePath),
            ("Tls:KeyPath", keyPath),
            ("Tls:ClientCertificates", "Required"),
            ("Tls:TrustedClientRootsPath", rootsPath),
            ("Tls:HandshakeTimeout", "00:00:10")));
        await host.StartAsync().Within();
        int port = PortOf(host);

        var withCertificate = TestCertificates.TrustingClient();
        withCertificate.ClientCertificate = TestCertificates.Client;
        await using (var client = await Streams.OpenConnectionAsync("127.0.0.1", port, new ConnectionOptions { Tls = withCertificate }).Within())
        {
            client.Writer.Write(Loopback.Bytes("over tls\n"));
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("over tls\n"));
            Assert.That(client.Tls, Is.Not.Null);
        }

        // Without a certificate the server refuses it (with TLS 1.3 the client may finish first, but gets no byte).
        string outcome;
        try
        {
            await using var anonymous = await Streams.OpenConnectionAsync("127.0.0.1", port, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
            anonymous.Writer.Write(Loopback.Bytes("let me in\n"));
            outcome = (await anonymous.Reader.ReadAsync().Within()).IsEmpty ? "eof" : "data";
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            outcome = "refused";
        }

        Assert.That(outcome, Is.Not.EqualTo("data"));
        await host.StopAsync().Within();
    }

    [Test]
    public async Task TlsFromPfxFile_WithAPassword_AndAHandshakeTimeout_FromConfiguration()
    {
        string pfxPath = Path.Combine(_directory, "server.pfx");
        await File.WriteAllBytesAsync(pfxPath, TestCertificates.Server.Export(X509ContentType.Pkcs12, "s3cret"));
        using var host = BuildHost(Loopback0(("Tls:PfxPath", pfxPath), ("Tls:Password", "s3cret"), ("Tls:HandshakeTimeout", "00:00:00.200")));
        await host.StartAsync().Within();
        int port = PortOf(host);

        await using (var client = await Streams.OpenConnectionAsync("127.0.0.1", port, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within())
        {
            client.Writer.Write(Loopback.Bytes("pfx\n"));
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("pfx\n"));
        }

        // A client that never starts its handshake is cut off by the configured handshake timeout.
        await using var silent = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
        try
        {
            Assert.That((await silent.Reader.ReadAsync(-1).Within()).Length, Is.Zero);
        }
        catch (IOException)
        {
            // A reset: cut off as well.
        }

        await host.StopAsync().Within();
    }

    [TestCase("MaxConnections", "0", "MaxConnections")]
    [TestCase("IdleTimeout", "00:00:00", "IdleTimeout")]
    [TestCase("FrameTimeout", "-00:00:01", "FrameTimeout")]
    [TestCase("ProxyProtocolMaxHeaderLength", "3", "ProxyProtocolMaxHeaderLength")]
    [TestCase("Tls:ClientCertificates", "Required", "Tls:CertificatePath")]
    [TestCase("Tls:CertificatePath", "no-such-file.pem", "Tls:CertificatePath")]
    [TestCase("Tls:PfxPath", "no-such-file.pfx", "Tls:PfxPath")]
    public void BadProductionOption_FailsTheStart_NamingTheServerAndTheKey(string key, string value, string named)
    {
        using var host = BuildHost(Loopback0((key, value)));

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await host.StartAsync().Within());

        Assert.That(error!.Message, Does.Contain("'echo'").And.Contain(named));
    }

    [Test]
    public void PortInUse_FailsTheStart_NamingTheServerAndTheAddress()
    {
        using var holder = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // no SO_REUSEADDR/SO_REUSEPORT: nobody may share it
        holder.Listen();
        int port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        using var host = BuildHost(new() { ["Servers:echo:Hosts:0"] = "127.0.0.1", ["Servers:echo:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await host.StartAsync().Within());

        Assert.That(error!.Message, Does.Contain("'echo'").And.Contain($"127.0.0.1 port {port}"));
        Assert.That(error.InnerException, Is.InstanceOf<System.Net.Sockets.SocketException>());
    }

    [Test]
    public async Task TheLibraryLogs_ThroughTheHostsLoggerFactory()
    {
        var log = new CategoryLoggerProvider();
        using var host = BuildHost(Loopback0(), logger: log);

        await host.StartAsync().Within();
        await host.StopAsync().Within();

        Assert.That(log.Messages.Where(m => m.Category == "RxStreams.Server").Select(m => m.Message), Has.Some.StartsWith("RxStreams server 'echo': Serving on 127.0.0.1:"));
    }

    /// <summary>Keeps every message with its category.</summary>
    private sealed class CategoryLoggerProvider : ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string Category, string Message)> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new CategoryLogger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class CategoryLogger(CategoryLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Messages.Enqueue((category, formatter(state, exception)));
        }
    }
}
