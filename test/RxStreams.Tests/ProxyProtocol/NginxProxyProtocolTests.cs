using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// Interop with a real PROXY protocol sender: nginx's <c>stream</c> proxy (<c>proxy_protocol on;</c>) in front of an
/// RxStreams server and in front of <c>rxstreams echo --proxy-protocol</c>. The server must see the raw client's own
/// address and port (not nginx's), and bytes must round-trip unchanged through the proxy.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public partial class NginxProxyProtocolTests
{
    [Test]
    public async Task Nginx_InFrontOfALibraryServer_HandlerSeesTheRealClient_BytesRoundTrip()
    {
        await using var echo = await ProxiedEchoServer.StartAsync();
        await using var nginx = await NginxStreamProxy.StartAsync(echo.Server.Port());

        using var client = await Loopback.ConnectRawAsync(nginx.EndPoint);
        var payload = Loopback.Pattern(1024 * 1024);
        var receiving = client.ReceiveToEndAsync();
        await client.SendAllAsync(payload);
        client.Shutdown(SocketShutdown.Send);
        var echoed = await receiving;

        var (peer, proxy, header) = await echo.Seen.Within();
        var clientEnd = (IPEndPoint)client.LocalEndPoint!;
        Assert.Multiple(() =>
        {
            Assert.That(peer, Is.EqualTo(clientEnd), $"peername is the raw client's address and port, not nginx's\n{nginx.ErrorLog}");
            Assert.That(proxy, Is.InstanceOf<IPEndPoint>());
            Assert.That(((IPEndPoint)proxy!).Port, Is.Not.EqualTo(clientEnd.Port), "proxy_peername is nginx's own outgoing socket");
            Assert.That(header!.Version, Is.EqualTo(1), "nginx sends the v1 text header");
            Assert.That(header.Destination, Is.EqualTo(nginx.EndPoint), "sockname is the address the client connected to: nginx's listener");
            Assert.That(echoed.AsSpan().SequenceEqual(payload), Is.True, $"1 MiB round-trips unchanged ({echoed.Length} bytes back)");
            Assert.That(echo.Errors, Is.Empty);
        });
    }

    [Test]
    public async Task Nginx_InFrontOfTheCliEcho_PrintsTheRealClientsAddress()
    {
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");
        Assert.That(File.Exists(cli), Is.True, $"{cli} is missing: the CLI is copied next to the tests by the project reference");
        await using var echo = ChildProcess.Start(ChildProcess.DotnetHost(), [cli, "echo", "--port", "0", "--proxy-protocol"]);
        var serving = ServingOn().Match(await echo.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal)));
        Assert.That(serving.Success, Is.True, echo.Transcript);
        await using var nginx = await NginxStreamProxy.StartAsync(int.Parse(serving.Groups[1].Value, CultureInfo.InvariantCulture));

        using var client = await Loopback.ConnectRawAsync(nginx.EndPoint);
        await client.SendAllAsync("Hello through nginx!");
        var reply = Loopback.Text(await client.ReceiveToEndAsync());
        var received = await echo.WaitForLineAsync(static line => line.StartsWith("Received", StringComparison.Ordinal));

        Assert.Multiple(() =>
        {
            Assert.That(reply, Is.EqualTo("Hello through nginx!"), $"{echo.Transcript}\n{nginx.ErrorLog}");
            Assert.That(received, Is.EqualTo($"Received 'Hello through nginx!' from ('127.0.0.1', {((IPEndPoint)client.LocalEndPoint!).Port})"));
            Assert.That(echo.Stderr, Is.Empty, "no connection was refused");
        });
    }

    [GeneratedRegex(@"^Serving on \('127\.0\.0\.1', (\d+)\)$")]
    private static partial Regex ServingOn();
}
