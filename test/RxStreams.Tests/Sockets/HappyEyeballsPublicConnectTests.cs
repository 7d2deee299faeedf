using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// Happy Eyeballs through the public connect path (<see cref="Streams.OpenConnectionAsync(string, int, ConnectionOptions?, CancellationToken)"/>
/// with a host name) for a host with several addresses, as <c>localhost</c> is on most machines (<c>::1</c> and
/// <c>127.0.0.1</c>): the server listens on one address only, and the client must reach it through the other.
/// </summary>
/// <remarks>
/// Whether <c>localhost</c> has two addresses depends on the machine's hosts file, so most tests here give the connect a
/// resolver (<see cref="ConnectionOptions.Resolver"/>, internal) that answers what such a machine answers; everything
/// after resolving is the public path. One test uses the system's resolver and is inconclusive where it returns a single
/// address. Every address is a loopback one.
/// </remarks>
[TestFixture]
[NonParallelizable] // fills a listener's accept queue on 127.0.0.2
[CancelAfter(60_000)]
public sealed class HappyEyeballsPublicConnectTests
{
    private const string Host = "localhost";

    /// <summary>A loopback address whose listener never accepts (<see cref="HappyEyeballsTests.SilentListener"/>).</summary>
    private static readonly IPAddress SilentAddress = IPAddress.Parse("127.0.0.2");

    // (delay, interleave): one address after another; Happy Eyeballs in its default order and in the resolver's; and a
    // delay far beyond the test's bound, so only the refusal can start the next address.
    [TestCase(null, null)]
    [TestCase(250, null)]
    [TestCase(250, 0)]
    [TestCase(3_600_000, 1)]
    public async Task HostWithIPv6AndIPv4_ServerOnIPv4Only_ConnectsAfterIPv6IsRefused(int? delayMilliseconds, int? interleave)
    {
        using var server = Loopback.Listen(IPAddress.Loopback);
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var refusing = RefusingIPv6(port);
        var asked = new List<string>();
        var options = new ConnectionOptions
        {
            HappyEyeballsDelay = delayMilliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
            Interleave = interleave,
            Resolver = Answering(asked, IPAddress.IPv6Loopback, IPAddress.Loopback),
        };

        await using var connection = await Streams.OpenConnectionAsync(Host, port, options).Within();

        Assert.Multiple(() =>
        {
            Assert.That(asked, Is.EqualTo(new[] { Host }), "the host name was resolved once");
            Assert.That(connection.RemoteEndPoint, Is.EqualTo(server.LocalEndPoint), "connected to the IPv4 address, after ::1 refused");
        });
    }

    [TestCase(0)]
    [TestCase(1)]
    public async Task HostWhoseFirstAddressNeverAnswers_HappyEyeballsConnectsToTheNext(int interleave)
    {
        using var server = Loopback.Listen(IPAddress.Loopback);
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var silent = HappyEyeballsTests.SilentListener(port, out var queued);
        try
        {
            var options = new ConnectionOptions
            {
                HappyEyeballsDelay = TimeSpan.FromMilliseconds(50),
                Interleave = interleave,
                ConnectTimeout = TimeSpan.FromSeconds(50), // far beyond Within(): only Happy Eyeballs can connect in time
                Resolver = Answering([], SilentAddress, IPAddress.Loopback),
            };

            await using var connection = await Streams.OpenConnectionAsync(Host, port, options).Within();

            Assert.That(connection.RemoteEndPoint, Is.EqualTo(server.LocalEndPoint), "the address that answers wins");
        }
        finally
        {
            queued.ForEach(static s => s.Dispose());
        }
    }

    [Test]
    public async Task HostWhoseFirstAddressNeverAnswers_WithoutHappyEyeballs_TheConnectTimesOutOnIt()
    {
        // The control for the test above: the same host tried one address after another waits on the silent one until
        // the connect timeout, so that test connects only because of Happy Eyeballs.
        using var server = Loopback.Listen(IPAddress.Loopback);
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var silent = HappyEyeballsTests.SilentListener(port, out var queued);
        try
        {
            var options = new ConnectionOptions
            {
                ConnectTimeout = TimeSpan.FromSeconds(1),
                Resolver = Answering([], SilentAddress, IPAddress.Loopback),
            };

            var connecting = Streams.OpenConnectionAsync(Host, port, options);

            Assert.That(async () => await connecting.Within(), Throws.TypeOf<TimeoutException>().With.Message.StartsWith("Connecting to"), "the connect timeout, not the test's bound");
        }
        finally
        {
            queued.ForEach(static s => s.Dispose());
        }
    }

    [TestCase(null)]
    [TestCase(250)]
    public async Task Localhost_AsThisMachineResolvesIt_ServerOnIPv4Only_Connects(int? delayMilliseconds)
    {
        var resolved = await Dns.GetHostAddressesAsync(Host).Within();
        Assume.That(
            resolved.Contains(IPAddress.IPv6Loopback) && resolved.Contains(IPAddress.Loopback),
            Is.True,
            $"'{Host}' resolves to [{string.Join(", ", resolved.Select(static a => a.ToString()))}] here, not to both ::1 and 127.0.0.1 (no ::1 line in the hosts file?): the tests with a given resolver cover the multi-address path");

        using var server = Loopback.Listen(IPAddress.Loopback);
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var refusing = RefusingIPv6(port);
        var options = new ConnectionOptions { HappyEyeballsDelay = delayMilliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null };

        await using var connection = await Streams.OpenConnectionAsync(Host, port, options).Within();

        Assert.That(connection.RemoteEndPoint, Is.EqualTo(server.LocalEndPoint));
    }

    /// <summary>A resolver that answers <paramref name="addresses"/> for any host, recording the names it was asked.</summary>
    private static Func<string, CancellationToken, Task<IPAddress[]>> Answering(List<string> asked, params IPAddress[] addresses) =>
        (host, _) =>
        {
            lock (asked)
            {
                asked.Add(host);
            }

            return Task.FromResult(addresses);
        };

    /// <summary>
    /// A socket bound to [::1]:<paramref name="port"/> that does not listen: a connect there is refused at once, and no
    /// other process can take the port meanwhile. Inconclusive where the machine has no IPv6 loopback.
    /// </summary>
    private static Socket RefusingIPv6(int port)
    {
        var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, port));
            return socket;
        }
        catch (SocketException error)
        {
            socket.Dispose();
            Assert.Inconclusive($"Cannot bind [::1]:{port} ({error.SocketErrorCode}): no IPv6 loopback here.");
            throw;
        }
    }
}
