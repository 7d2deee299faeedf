using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Hosting;
using RxStreams.Tests.Cli;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// Issue 11 item 2: a bind never shares a port by accident. <see cref="ServerOptions.ReuseAddress"/> (on by default)
/// sets the real SO_REUSEADDR only; a port is shared only with <see cref="ServerOptions.ReusePort"/> on both servers.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class BindExclusivityTests
{
    [Test]
    public async Task SecondServer_OnAListeningPort_FailsWithAddressInUse_NamingTheEndPoint()
    {
        await using var first = await Streams.StartServerAsync("127.0.0.1", 0);
        int port = first.Port();

        var error = Assert.ThrowsAsync<SocketException>(async () => await Streams.StartServerAsync("127.0.0.1", port));

        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
        Assert.That(error.Message, Does.Contain($"127.0.0.1:{port}").And.Contain("address already in use"));
    }

    [Test]
    public async Task SecondServer_WithReuseAddressOff_FailsToo()
    {
        await using var first = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { ReuseAddress = false });

        var error = Assert.ThrowsAsync<SocketException>(async () =>
            await Streams.StartServerAsync("127.0.0.1", first.Port(), new ServerOptions { ReuseAddress = false }));

        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }

    [Test]
    public async Task TwoServers_WithReusePortOnBoth_BothBindAndServe()
    {
        var options = new ServerOptions { ReusePort = true };
        await using var first = await Streams.StartServerAsync(static (_, writer) => { writer.WriteLine("first"); return Task.CompletedTask; }, "127.0.0.1", 0, options);
        await using var second = await Streams.StartServerAsync(static (_, writer) => { writer.WriteLine("second"); return Task.CompletedTask; }, "127.0.0.1", first.Port(), options);

        Assert.That(second.Port(), Is.EqualTo(first.Port()));
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", first.Port()).Within();
        Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.AnyOf("first\n", "second\n"));
    }

    [Test]
    public async Task ServerWithReusePort_DoesNotLetAServerWithoutItShare()
    {
        await using var first = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { ReusePort = true });

        var error = Assert.ThrowsAsync<SocketException>(async () => await Streams.StartServerAsync("127.0.0.1", first.Port()));

        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }

    [Test]
    public async Task CliEcho_OnAListeningPort_ExitsOneWithOneLine()
    {
        await using var first = await Streams.StartServerAsync("127.0.0.1", 0);
        int port = first.Port();

        var result = await CliRun.InProcessAsync(["echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Error.TrimEnd('\n', '\r').Split('\n'), Has.Length.EqualTo(1), result.ToString());
        Assert.That(result.Error, Does.Contain("address already in use").And.Contain($"127.0.0.1:{port}"), result.ToString());
    }

    [Test]
    public async Task HostedServer_OnAListeningPort_FailsItsStart()
    {
        await using var first = await Streams.StartServerAsync("127.0.0.1", 0);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Servers:echo:Hosts:0"] = "127.0.0.1",
            ["Servers:echo:Port"] = first.Port().ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.Services.AddRxStreamsServer("echo", builder.Configuration.GetSection("Servers:echo"), static (_, _) => Task.CompletedTask);
        using var host = builder.Build();

        var error = Assert.ThrowsAsync<SocketException>(async () => await host.StartAsync().Within());

        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
        Assert.That(error.Message, Does.Contain($"127.0.0.1:{first.Port()}"));
    }
}
