using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// Interop with HAProxy, the protocol's reference sender: <c>send-proxy-v2</c> with TLVs (a unique ID and a CRC32C), and
/// its health checks, which send a v2 <c>LOCAL</c> header.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class HaproxyProxyProtocolTests
{
    [Test]
    public async Task Haproxy_SendProxyV2_HandlerSeesTheClient_TheTlvs_BytesRoundTrip()
    {
        await using var echo = await ProxiedEchoServer.StartAsync();
        await using var haproxy = await HaproxyTcpProxy.StartAsync(
            echo.Server.Port(),
            "send-proxy-v2 proxy-v2-options crc32c,unique-id",
            "unique-id-format rx-%cp");

        using var client = await haproxy.ConnectAsync();
        var payload = Loopback.Pattern(512 * 1024, seed: 7);
        var receiving = client.ReceiveToEndAsync();
        await client.SendAllAsync(payload);
        client.Shutdown(SocketShutdown.Send);
        var echoed = await receiving;

        var (peer, _, header) = await echo.Seen.Within();
        var clientEnd = (IPEndPoint)client.LocalEndPoint!;
        Assert.Multiple(() =>
        {
            Assert.That(peer, Is.EqualTo(clientEnd), haproxy.Transcript);
            Assert.That(header!.Version, Is.EqualTo(2));
            Assert.That(header.Command, Is.EqualTo(ProxyProtocolCommand.Proxy));
            Assert.That(header.Destination, Is.EqualTo(haproxy.EndPoint));
            Assert.That(Encoding.ASCII.GetString(header.FindTlv(0x05)!.Value.Span), Is.EqualTo($"rx-{clientEnd.Port}"), "the unique-id TLV");
            Assert.That(header.FindTlv(0x03)!.Value.Length, Is.EqualTo(4), "the CRC32C TLV, handed over unchecked");
            Assert.That(echoed.AsSpan().SequenceEqual(payload), Is.True, $"512 KiB round-trip ({echoed.Length} bytes back)");
            Assert.That(echo.Errors, Is.Empty);
        });
    }

    [Test]
    public async Task Haproxy_HealthCheck_SendsLocal_KeepsTheProxysAddresses_NoError()
    {
        var local = new TaskCompletionSource<(object? Peer, object? ProxyPeer, ProxyProtocolHeader? Header)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                if (writer.GetExtraInfo("proxy_header") is ProxyProtocolHeader { Command: ProxyProtocolCommand.Local } header)
                {
                    local.TrySetResult((writer.GetExtraInfo("peername"), writer.GetExtraInfo("proxy_peername"), header));
                }

                try
                {
                    await reader.ReadAsync();
                }
                catch (IOException)
                {
                    // HAProxy ends its health checks with a reset.
                }
            },
            "127.0.0.1",
            0,
            new ServerOptions { ProxyProtocol = ProxyProtocolMode.Required });
        await using var guard = Loopback.Guard(server);
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(error => { lock (errors) { errors.Add(error); } });

        // A TCP health check every 100 ms that sends the PROXY header too: HAProxy's checks have no client, so LOCAL.
        await using var haproxy = await HaproxyTcpProxy.StartAsync(server.Port(), "send-proxy-v2 check check-send-proxy inter 100ms");

        var (peer, proxyPeer, header) = await local.Task.Within();
        Assert.Multiple(() =>
        {
            Assert.That(header!.Version, Is.EqualTo(2));
            Assert.That(header.Source, Is.Null);
            Assert.That(peer, Is.InstanceOf<IPEndPoint>());
            Assert.That(peer, Is.EqualTo(proxyPeer), "LOCAL: peername stays the socket's peer, HAProxy itself");
            lock (errors)
            {
                // A check's reset can beat the reading of its header (the kernel drops unread bytes on a reset), which
                // is reported as a lost connection; a valid header is never refused.
                Assert.That(errors.OfType<ProxyProtocolException>(), Is.Empty, haproxy.Transcript);
            }
        });
    }
}
