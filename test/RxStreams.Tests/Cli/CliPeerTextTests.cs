using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Cli;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.ProxyProtocol.ProxyHeaders;

namespace RxStreams.Tests.Cli;

/// <summary>
/// What the CLI prints about peers: a PROXY client's Unix path as Python's <c>repr</c> prints it (nothing that does not
/// print reaches the terminal), and server errors escaped and bounded in number.
/// </summary>
public partial class CliPeerTextTests
{
    [TestCase("/run/a.sock", "'/run/a.sock'")]
    [TestCase("it's", "\"it's\"")]
    [TestCase("/x\n2026 INFO forged", "'/x\\n2026 INFO forged'")]
    public void Repr_IsPythons_EscapingEverythingThatDoesNotPrint(string text, string expected)
    {
        Assert.That(PythonFormat.Repr(text), Is.EqualTo(expected));
    }

    [Test]
    public void Repr_ControlsFormatCharactersSeparatorsAndLoneSurrogates_AsPythonPrintsThem()
    {
        // python3 -c "print(repr('\x1b[31m\x9b\u202e\xa0é\udc80\U000e0001 \'x'))" (a lone surrogate cannot be a TestCase argument)
        Assert.That(
            PythonFormat.Repr("\u001b[31m\u009b\u202e\u00a0é\udc80\U000E0001 'x"),
            Is.EqualTo("\"\\x1b[31m\\x9b\\u202e\\xa0é\\udc80\\U000e0001 'x\""));
    }

    [Test]
    public void Address_OfAForgedUnixPath_HasNoControlCharacter()
    {
        string printed = PythonFormat.Address(new System.Net.Sockets.UnixDomainSocketEndPoint("/tmp/x\n\u001b[2J"));
        Assert.That(printed, Is.EqualTo("'/tmp/x\\n\\x1b[2J'"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EchoWithProxyProtocol_PrintsAForgedUnixPathEscaped_AndARefusedHeaderOnOneLine()
    {
        await using var echo = CliRun.Start("echo", "--port", "0", "--proxy-protocol");
        var serving = ServingOn().Match(await echo.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal)).Within());
        Assert.That(serving.Success, Is.True, echo.Transcript);
        var endPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(serving.Groups[1].Value, CultureInfo.InvariantCulture));

        using (var client = await Loopback.ConnectRawAsync(endPoint))
        {
            byte[] headerAndData = [.. V2(0x1, 0x31, [.. SunPath("/tmp/x\n2026 INFO forged\u001b[2J"), .. SunPath("/run/s")]), .. "hello"u8];
            await client.SendAllAsync(headerAndData);
            Assert.That(Loopback.Text(await client.ReceiveToEndAsync().Within()), Is.EqualTo("hello"));
        }

        var received = await echo.WaitForLineAsync(static line => line.StartsWith("Received", StringComparison.Ordinal)).Within();
        Assert.That(received, Is.EqualTo("Received 'hello' from '/tmp/x\\n2026 INFO forged\\x1b[2J'"), echo.Transcript);

        using (var liar = await Loopback.ConnectRawAsync(endPoint))
        {
            await liar.SendAllAsync("PROXY TCP4 1.2.3.4 5.6.7.8 1 \u001b[31m\r\n");
            try
            {
                await liar.ReceiveToEndAsync().Within();
            }
            catch (System.Net.Sockets.SocketException)
            {
                // refused with a reset
            }
        }

        await WaitForAsync(() => echo.Stderr.Contains("Refused", StringComparison.Ordinal));
        Assert.That(echo.Stderr.Any(static c => char.IsControl(c) && c is not '\n' and not '\r'), Is.False, echo.Stderr);
        Assert.That(echo.Stderr, Does.Contain("\\x1B[31m"), echo.Stderr);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out");
            await Task.Delay(20);
        }
    }

    [GeneratedRegex(@"^Serving on \('127\.0\.0\.1', (\d+)\)$")]
    private static partial Regex ServingOn();

    [Test]
    public void ServerErrorLog_TenThousandErrors_ABoundedNumberOfEscapedLines()
    {
        var clock = new TestScheduler();
        var output = new StringWriter();
        var log = new ServerErrorLog(output, clock);
        for (int i = 0; i < 10_000; i++)
        {
            log.Write(new ProxyProtocolException($"Refused the connection from /tmp/x{i}\n\u001b[31mforged"));
            log.Write(new TimeoutException("No complete PROXY protocol header"));
            clock.AdvanceBy(TimeSpan.FromMilliseconds(2.5).Ticks); // 25 s of virtual time
        }

        log.Flush();
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

        TestContext.Out.WriteLine(string.Join(Environment.NewLine, lines));
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.EqualTo(12), "per kind: a line at 0, 10 and 20 s, and three summaries");
            Assert.That(lines[0], Is.EqualTo("rxstreams: Refused the connection from /tmp/x0\\x0A\\x1B[31mforged"));
            Assert.That(lines, Has.Some.EqualTo("rxstreams: 3999 more similar errors (ProxyProtocolException) in the last 10 s"));
            Assert.That(lines.All(static l => !l.Any(char.IsControl)), Is.True);
        });
    }
}
