using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary>The CLI's servers with the defensive timeouts on, as a separate process: a slowloris is shed, others are served.</summary>
public partial class CliTimeoutTests
{
    [GeneratedRegex(@"^Serving on \('127\.0\.0\.1', (\d+)\)$")]
    private static partial Regex ServingOn();

    [Test]
    public async Task CliEchoLines_WithFrameAndIdleTimeouts_ShedsSlowlorisAndSilentPeers_ServesTheRest()
    {
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");
        await using var echo = ChildProcess.Start(ChildProcess.DotnetHost(), [cli, "echo", "--port", "0", "--lines", "--frame-timeout", "0.5", "--idle-timeout", "2"]);
        var serving = await echo.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal));
        int port = int.Parse(ServingOn().Match(serving).Groups[1].Value, CultureInfo.InvariantCulture);
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);

        using var slowloris = await Loopback.ConnectRawAsync(endPoint);
        await slowloris.SendAllAsync("a line that never ends");
        using var silent = await Loopback.ConnectRawAsync(endPoint);
        using var prompt = await Loopback.ConnectRawAsync(endPoint);
        await prompt.SendAllAsync("ping\n");
        Assert.That(Loopback.Text(await prompt.ReceiveExactlyAsync(5)), Is.EqualTo("ping\n"), echo.Transcript);

        Assert.That(await PeerSeesEndAsync(slowloris), Is.True, "the slowloris is cut after the frame timeout");
        Assert.That(await PeerSeesEndAsync(silent), Is.True, "the silent peer is cut after the idle timeout");
        Assert.That(echo.HasExited, Is.False, "the server goes on");
        using var after = await Loopback.ConnectRawAsync(endPoint);
        await after.SendAllAsync("still serving\n");
        Assert.That(Loopback.Text(await after.ReceiveExactlyAsync(14)), Is.EqualTo("still serving\n"), echo.Transcript);
    }
}
