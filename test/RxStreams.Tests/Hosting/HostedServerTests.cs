using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Hosting;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Hosting;

/// <summary>A real Generic Host running an RxStreams server from configuration, talked to over loopback, then stopped.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class HostedServerTests
{
    /// <summary>Echoes lines until the peer's EOF or until the host asks the connection to finish, then says goodbye.</summary>
    private static async Task PoliteEcho(ConnectionReader reader, ConnectionWriter writer)
    {
        try
        {
            await foreach (var line in reader.ReadLinesAsync(writer.CloseRequested))
            {
                writer.Write(line);
            }
        }
        catch (OperationCanceledException) when (writer.CloseRequested.IsCancellationRequested)
        {
            writer.WriteLine("bye");
        }
    }

    /// <summary>Echoes lines and ignores the host's request to finish: only the abort ends it.</summary>
    private static async Task StubbornEcho(ConnectionReader reader, ConnectionWriter writer)
    {
        await foreach (var line in reader.ReadLinesAsync())
        {
            writer.Write(line);
        }
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IServiceCollection, IConfiguration> addServer, TimeSpan? hostShutdownTimeout = null, ILoggerProvider? logger = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        if (logger is not null)
        {
            builder.Logging.AddProvider(logger);
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = hostShutdownTimeout ?? TimeSpan.FromSeconds(30));
        addServer(builder.Services, builder.Configuration);
        return builder.Build();
    }

    private static int PortOf(IHost host, string name) =>
        ((IPEndPoint)host.Services.GetRequiredKeyedService<RxStreamsHostedServer>(name).Server.EndPoints[0]).Port;

    [Test]
    public async Task StartedHost_ServesWithConfiguredOptions_AndStopsGracefully_WithAConnectionOpen()
    {
        using var host = BuildHost(
            new() { ["Servers:echo:Hosts:0"] = "127.0.0.1", ["Servers:echo:Port"] = "0", ["Servers:echo:Limit"] = "16" },
            (services, configuration) => services.AddRxStreamsServer("echo", configuration.GetSection("Servers:echo"), PoliteEcho));
        await host.StartAsync().Within();
        var hosted = host.Services.GetRequiredKeyedService<RxStreamsHostedServer>("echo");
        Assert.That(hosted.Server.EndPoints, Has.Count.EqualTo(1), "Hosts came from configuration: only 127.0.0.1");

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", PortOf(host, "echo")).Within();
        connection.Writer.WriteLine("hello");
        Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("hello\n"));

        // A line longer than the configured limit (16) fails that connection only: proof the limit was applied.
        await using (var greedy = await Streams.OpenConnectionAsync("127.0.0.1", PortOf(host, "echo")).Within())
        {
            greedy.Writer.WriteLine(new string('x', 40));
            Assert.ThrowsAsync<IOException>(async () => await greedy.Reader.ReadAsync(-1).Within(), "the server reset it");
        }

        // Stop with the first connection still open: it is asked to finish, says goodbye, and closes cleanly.
        var stopping = host.StopAsync();
        Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("bye\n"));
        Assert.That((await connection.Reader.ReadAsync(-1).Within()).Length, Is.Zero, "a clean EOF, not a reset");
        await stopping.Within();
        Assert.That(hosted.Server.IsServing, Is.False);
        Assert.That(hosted.Server.ConnectionCount, Is.Zero);
    }

    [Test]
    public async Task HandlerIgnoringTheRequest_IsServedUntilTheHostsDeadline_ThenAborted()
    {
        using var host = BuildHost(
            new() { ["Servers:stubborn:Hosts:0"] = "127.0.0.1", ["Servers:stubborn:Port"] = "0" },
            (services, configuration) => services.AddRxStreamsServer("stubborn", configuration.GetSection("Servers:stubborn"), StubbornEcho),
            hostShutdownTimeout: TimeSpan.FromSeconds(2));
        await host.StartAsync().Within();
        int port = PortOf(host, "stubborn");
        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
        connection.Writer.WriteLine("before");
        await connection.Reader.ReadLineAsync().Within();

        var stopping = host.StopAsync();

        // The grace period: no new connections, but the open one is still served.
        Assert.ThrowsAsync<System.Net.Sockets.SocketException>(async () => await Streams.OpenConnectionAsync("127.0.0.1", port).Within());
        connection.Writer.WriteLine("during grace");
        Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("during grace\n"));
        Assert.That(stopping.IsCompleted, Is.False, "the host waits for the open connection");

        // The host's 2 s deadline passes: the connection is reset, and stopping completes.
        Assert.ThrowsAsync<IOException>(async () => await connection.Reader.ReadLineAsync().Within());
        await stopping.Within();
        Assert.That(host.Services.GetRequiredKeyedService<RxStreamsHostedServer>("stubborn").Server.ConnectionCount, Is.Zero);
    }

    [Test]
    public async Task ShutdownGraceFromConfiguration_AbortsBeforeTheHostsDeadline_PushHandlerOverUnixSocket()
    {
        var directory = Directory.CreateTempSubdirectory("rxstreams-hosting-");
        try
        {
            var path = Path.Combine(directory.FullName, "echo.sock");
            using var host = BuildHost(
                new() { ["Servers:unix:UnixPath"] = path, ["Servers:unix:ShutdownGrace"] = "00:00:00.200" },
                (services, configuration) => services.AddRxStreamsServer("unix", configuration.GetSection("Servers:unix"), c => c.Reader.Lines().Subscribe(c.Writer)),
                hostShutdownTimeout: TimeSpan.FromMinutes(5));
            await host.StartAsync().Within();
            await using var connection = await Streams.OpenUnixConnectionAsync(path).Within();
            connection.Writer.WriteLine("ping");
            Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("ping\n"));

            // The push echo never finishes on its own; the configured 200 ms grace (not the host's 5 min) ends it. An
            // aborted Unix socket has no reset: the peer reads the end.
            await host.StopAsync().Within();
            Assert.That((await connection.Reader.ReadAsync(-1).Within()).Length, Is.Zero);
            Assert.That(host.Services.GetRequiredKeyedService<RxStreamsHostedServer>("unix").Server.ConnectionCount, Is.Zero);
            Assert.That(File.Exists(path), Is.False, "the socket file is removed when the server closes");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task HandlerWithServices_FaultingHandler_IsLogged_AndOnlyItsConnectionEnds()
    {
        var log = new ListLoggerProvider();
        using var host = BuildHost(
            new() { ["Servers:kv:Hosts:0"] = "127.0.0.1", ["Servers:kv:Port"] = "0" },
            (services, configuration) =>
            {
                services.AddSingleton(new Dictionary<string, string> { ["answer"] = "42" });
                services.AddRxStreamsServer("kv", configuration.GetSection("Servers:kv"), async (provider, reader, writer) =>
                {
                    var table = provider.GetRequiredService<Dictionary<string, string>>();
                    await foreach (var line in reader.ReadLinesAsync())
                    {
                        var key = Loopback.Text(line).TrimEnd('\n');
                        writer.WriteLine(table.TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key));
                    }
                });
            },
            logger: log);
        await host.StartAsync().Within();
        int port = PortOf(host, "kv");

        await using var good = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
        await using (var bad = await Streams.OpenConnectionAsync("127.0.0.1", port).Within())
        {
            bad.Writer.WriteLine("missing");
            Assert.ThrowsAsync<IOException>(async () => await bad.Reader.ReadAsync(-1).Within(), "the faulting handler's connection is reset");
        }

        good.Writer.WriteLine("answer");
        Assert.That(Loopback.Text(await good.Reader.ReadLineAsync().Within()), Is.EqualTo("42\n"), "the other connection is unaffected");
        var entry = await log.Errors.Task.Within();
        Assert.That(entry.Error, Is.InstanceOf<KeyNotFoundException>());
        Assert.That(entry.Message, Does.Contain("'kv'"));

        good.Writer.WriteEof(); // the handler sees the end and returns, so stopping has nothing to wait for
        Assert.That((await good.Reader.ReadAsync(-1).Within()).Length, Is.Zero);
        await host.StopAsync().Within();
    }

    [Test]
    public async Task BadOptions_FailTheHostsStart_NamingTheServer()
    {
        using var host = BuildHost(
            new() { ["Servers:bad:Port"] = "70000" },
            (services, configuration) => services.AddRxStreamsServer("bad", configuration.GetSection("Servers:bad"), StubbornEcho));

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await host.StartAsync().Within());
        Assert.That(error!.Message, Does.Contain("'bad'"));
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddRxStreamsServer("", new ConfigurationManager(), StubbornEcho));
    }

    [TestCase("Server:echo:Port", "the configuration section 'Servers:echo' is missing or misnamed")] // "Server", not "Servers"
    [TestCase("Servers:echo:Limit", "the configuration key 'Servers:echo:Port' is missing")]
    public void NoPort_RefusesToStart_NamingTheServerAndTheKey(string key, string why)
    {
        using var host = BuildHost(
            new() { [key] = "7000" },
            (services, configuration) => services.AddRxStreamsServer("echo", configuration.GetSection("Servers:echo"), StubbornEcho));

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await host.StartAsync().Within());

        Assert.That(error!.Message, Does.Contain("'echo'").And.Contain(why).And.Contain("'Servers:echo:Port'"), "not every interface on a random port");
    }

    [Test]
    public void MisspelledKey_RefusesToStart_NamingTheServerAndTheKey()
    {
        using var host = BuildHost(
            new() { ["Servers:echo:Prot"] = "7000", ["Servers:echo:Port"] = "0" },
            (services, configuration) => services.AddRxStreamsServer("echo", configuration.GetSection("Servers:echo"), StubbornEcho));

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await host.StartAsync().Within());

        Assert.That(error!.Message, Does.Contain("'echo'").And.Contain("'Prot'"));
    }

    [Test]
    public async Task PortWithoutHosts_ListensOnLoopbackOnly()
    {
        int port = FreePort();
        using var host = BuildHost(
            new() { ["Servers:echo:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            (services, configuration) => services.AddRxStreamsServer("echo", configuration.GetSection("Servers:echo"), PoliteEcho));
        await host.StartAsync().Within();
        var endPoints = host.Services.GetRequiredKeyedService<RxStreamsHostedServer>("echo").Server.EndPoints.Cast<IPEndPoint>().ToList();

        Assert.That(endPoints, Has.All.Matches<IPEndPoint>(e => IPAddress.IsLoopback(e.Address) && e.Port == port), string.Join(", ", endPoints));
        Assert.That(endPoints, Has.One.Matches<IPEndPoint>(e => e.Address.Equals(IPAddress.Loopback)));
        if (LoopbackAccepts(IPAddress.IPv6Loopback))
        {
            Assert.That(endPoints, Has.One.Matches<IPEndPoint>(e => e.Address.Equals(IPAddress.IPv6Loopback)), "::1 too, as Kestrel's localhost");
        }

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
        connection.Writer.WriteLine("hello");
        Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("hello\n"));
        connection.Writer.WriteEof();
        await host.StopAsync().Within();
    }

    [Test]
    public async Task FreePortWithoutHosts_Is127001Only()
    {
        using var host = BuildHost(
            new() { ["Servers:echo:Port"] = "0" },
            (services, configuration) => services.AddRxStreamsServer("echo", configuration.GetSection("Servers:echo"), PoliteEcho));
        await host.StartAsync().Within();

        var endPoints = host.Services.GetRequiredKeyedService<RxStreamsHostedServer>("echo").Server.EndPoints.Cast<IPEndPoint>();

        Assert.That(endPoints.Select(e => e.Address), Is.EqualTo(new[] { IPAddress.Loopback }));
        await host.StopAsync().Within();
    }

    [Test]
    public async Task StarHost_ListensOnEveryInterface_OnlyWhenAsked()
    {
        using var host = BuildHost(
            new() { ["Servers:open:Hosts:0"] = "*", ["Servers:open:Port"] = "0" },
            (services, configuration) => services.AddRxStreamsServer("open", configuration.GetSection("Servers:open"), PoliteEcho));
        await host.StartAsync().Within();

        var addresses = host.Services.GetRequiredKeyedService<RxStreamsHostedServer>("open").Server.EndPoints.Cast<IPEndPoint>().Select(e => e.Address);

        Assert.That(addresses, Does.Contain(IPAddress.Any));
        Assert.That(addresses, Has.All.Matches<IPAddress>(a => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any)));
        await host.StopAsync().Within();

        using var mixed = BuildHost(
            new() { ["Servers:mixed:Hosts:0"] = "*", ["Servers:mixed:Hosts:1"] = "127.0.0.1", ["Servers:mixed:Port"] = "0" },
            (services, configuration) => services.AddRxStreamsServer("mixed", configuration.GetSection("Servers:mixed"), PoliteEcho));
        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await mixed.StartAsync().Within());
        Assert.That(error!.Message, Does.Contain("'mixed'").And.Contain("only entry of Hosts"));
    }

    /// <summary>A port free on both loopbacks at the time of asking: bound on 127.0.0.1, then released.</summary>
    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>Whether this machine can listen on <paramref name="address"/> (IPv6 loopback is off in some containers).</summary>
    private static bool LoopbackAccepts(IPAddress address)
    {
        try
        {
            using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(address, 0));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Captures the first error logged.</summary>
    private sealed class ListLoggerProvider : ILoggerProvider, ILogger
    {
        public TaskCompletionSource<(string Message, Exception? Error)> Errors { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Errors.TrySetResult((formatter(state, exception), exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
