using System.Text;
using NUnit.Framework;
using RxStreams.Internal;

namespace RxStreams.Tests.Diagnostics;

/// <summary><see cref="PeerText"/>: what a peer controls comes out on one line, without control characters, bounded.</summary>
public class PeerTextTests
{
    private static bool HasNoControlCharacter(string text) => !text.Any(static c => char.IsControl(c) || c is '\u2028' or '\u2029');

    [TestCase("10.0.0.1:443", "10.0.0.1:443")]
    [TestCase("/run/a.sock", "/run/a.sock")]
    [TestCase("a\nb", "a\\x0Ab")]
    [TestCase("\r\n2026-12-06 INFO fake", "\\x0D\\x0A2026-12-06 INFO fake")]
    [TestCase("say \"hi\" \\ back", "say \\\"hi\\\" \\\\ back")]
    [TestCase("bidi\u202eevil", "bidi\\u{202E}evil")]
    [TestCase("line\u2028sep", "line\\u{2028}sep")]
    [TestCase("café ☕", "café ☕")]
    [TestCase("del\u007f", "del\\x7F")]
    public void Escape_String(string text, string expected)
    {
        string escaped = PeerText.Escape(text);
        Assert.That(escaped, Is.EqualTo(expected));
        Assert.That(HasNoControlCharacter(escaped), Is.True);
    }

    [Test]
    public void Escape_TerminalEscapeSequences_AreNeutralized()
    {
        // Not TestCase arguments: a test runner may drop cases whose names hold control characters.
        Assert.That(PeerText.Escape("\u001b[31mred\u001b[0m"), Is.EqualTo("\\x1B[31mred\\x1B[0m"));
        Assert.That(PeerText.Escape("csi\u009b2J"), Is.EqualTo("csi\\x9B2J"), "C1 CSI");
        Assert.That(PeerText.Escape("\u0007bell\u0000nul"), Is.EqualTo("\\x07bell\\x00nul"));
    }

    [Test]
    public void Escape_LoneSurrogate_IsEscaped()
    {
        Assert.That(PeerText.Escape("a\udc80b"), Is.EqualTo("a\\u{DC80}b"));
    }

    [Test]
    public void Escape_Bytes_ValidUtf8AsText_OtherBytesAsHex()
    {
        byte[] path = [(byte)'/', 0xFF, 0xC3, 0xA9, 0x0A, 0xC3, (byte)'x', 0x00];
        Assert.That(PeerText.Escape(path), Is.EqualTo("/\\xFFé\\x0A\\xC3x\\x00"));
    }

    [Test]
    public void Escape_IsCappedInLength_AndSaysHowMuchWasLeftOut()
    {
        string escaped = PeerText.Escape(new string('a', 1000));
        Assert.That(escaped, Is.EqualTo(new string('a', PeerText.DefaultMaxLength) + "...(744 more chars)"));

        string bytes = PeerText.Escape(Enumerable.Repeat((byte)0x1B, 1000).ToArray(), maxLength: 40);
        Assert.That(bytes, Does.StartWith("\\x1B\\x1B").And.EndWith("...(990 more bytes)"));
        Assert.That(bytes.Length, Is.LessThan(80));
    }

    [Test]
    public void Escape_EndPoint_NullIsUnknown_UnixPathEscaped()
    {
        Assert.That(PeerText.Escape((System.Net.EndPoint?)null), Is.EqualTo("unknown"));
        Assert.That(PeerText.Escape(new System.Net.Sockets.UnixDomainSocketEndPoint("/tmp/x\ny")), Is.EqualTo("/tmp/x\\x0Ay"));
    }

    [Test]
    public void OneLine_EscapesControls_ButNotBackslashesOrQuotes_SoEscapedPartsAreNotEscapedTwice()
    {
        string message = $"Refused the connection from {PeerText.Escape("/p\n")}: '{PeerText.Escape("\"x\"")}'\nsecond line\u001b[2J";
        string line = PeerText.OneLine(message);
        Assert.That(line, Is.EqualTo("Refused the connection from /p\\x0A: '\\\"x\\\"'\\x0Asecond line\\x1B[2J"));
        Assert.That(HasNoControlCharacter(line), Is.True);
        Assert.That(PeerText.OneLine(new StringBuilder().Append('x', 5000).ToString()), Does.EndWith("more chars)"));
    }
}
