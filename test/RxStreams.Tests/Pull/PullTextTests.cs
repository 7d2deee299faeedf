using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Pull;

/// <summary>Issue 13 item 2: text lines pull style, agreeing with the push operator <c>LinesText</c>.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PullTextTests
{
    private const string Input = "one\r\ntwo\n\nh\u00e9llo \u4e16\u754c\r\nlast without newline";

    [Test]
    public async Task ReadLinesTextAsync_GivesTheSameLinesAsLinesText()
    {
        var pulled = new List<string>();
        var reader = Fed(Input);
        await foreach (var line in reader.ReadLinesTextAsync())
        {
            pulled.Add(line);
        }

        var pushed = await Fed(Input).LinesText().ToList().ToTask().Within();
        Assert.That(pulled, Is.EqualTo(pushed));
        Assert.That(pulled, Is.EqualTo(new[] { "one", "two", "", "h\u00e9llo \u4e16\u754c", "last without newline" }));
    }

    [Test]
    public async Task ReadLineTextAsync_NullAtTheEnd_AnEmptyStringIsAnEmptyLine()
    {
        var reader = Fed("a\n\n");
        Assert.That(await reader.ReadLineTextAsync().Within(), Is.EqualTo("a"));
        Assert.That(await reader.ReadLineTextAsync().Within(), Is.EqualTo(string.Empty));
        Assert.That(await reader.ReadLineTextAsync().Within(), Is.Null);
    }

    [Test]
    public async Task ReadLineTextAsync_OtherEncoding_Latin1()
    {
        var reader = new ConnectionReader();
        reader.FeedData(Encoding.Latin1.GetBytes("caf\u00e9\n"));
        reader.FeedEof();
        Assert.That(await reader.ReadLineTextAsync(Encoding.Latin1).Within(), Is.EqualTo("caf\u00e9"));
    }

    [Test]
    public void TextLines_EncodingThatCannotCutLinesInBytes_IsRefused()
    {
        var reader = Fed("x\n");
        var error = Assert.Throws<ArgumentException>(() => reader.ReadLinesTextAsync(Encoding.Unicode));
        Assert.That(error!.ParamName, Is.EqualTo("encoding"));
        Assert.ThrowsAsync<ArgumentException>(async () => await reader.ReadLineTextAsync(Encoding.UTF32));
    }

    [Test]
    public void ReadLinesTextAsync_LineOverTheLimit_FailsAsReadLineDoes()
    {
        var reader = new ConnectionReader(limit: 4);
        reader.FeedData(Loopback.Bytes("ok\ntoo long\n"));
        reader.FeedEof();
        var lines = new List<string>();
        Assert.ThrowsAsync<LimitOverrunException>(async () =>
        {
            await foreach (var line in reader.ReadLinesTextAsync())
            {
                lines.Add(line);
            }
        });
        Assert.That(lines, Is.EqualTo(new[] { "ok" }));
    }

    private static ConnectionReader Fed(string text)
    {
        var reader = new ConnectionReader();
        reader.FeedData(Encoding.UTF8.GetBytes(text));
        reader.FeedEof();
        return reader;
    }
}
