using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Cli;

namespace RxStreams.Tests.Cli;

/// <summary>
/// What the CLI prints about peers: a PROXY client's Unix path as Python's <c>repr</c> prints it (nothing that does not
/// print reaches the terminal), and server errors escaped and bounded in number.
/// </summary>
public class CliPeerTextTests
{
    [TestCase("/run/a.sock", "'/run/a.sock'")]
    [TestCase("it's", "\"it's\"")]
    [TestCase("/x\n2026 INFO forged", "'/x\\n2026 INFO forged'")]
    [TestCase("\u001b[31m\u009b\u202e\u00a0é\udc80\U000E0001 'x", "\"\\x1b[31m\\x9b\\u202e\\xa0é\\udc80\\U000e0001 'x\"")] // python3 -c "print(repr(...))"
    public void Repr_IsPythons_EscapingEverythingThatDoesNotPrint(string text, string expected)
    {
        Assert.That(PythonFormat.Repr(text), Is.EqualTo(expected));
    }

    [Test]
    public void Address_OfAForgedUnixPath_HasNoControlCharacter()
    {
        string printed = PythonFormat.Address(new System.Net.Sockets.UnixDomainSocketEndPoint("/tmp/x\n\u001b[2J"));
        Assert.That(printed, Is.EqualTo("'/tmp/x\\n\\x1b[2J'"));
    }

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
