using System.Reactive.Linq;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Samples.Resp;

namespace RxStreams.Tests.Samples;

/// <summary>The RESP sample's custom <see cref="IFrameDecoder{TFrame}"/>, driven by the library's Decode operator.</summary>
[TestFixture]
public class RespDecoderTests
{
    private const string Pipeline = "*2\r\n$4\r\nECHO\r\n$5\r\na\r\nb!\r\nPING\r\n*0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nGET   k\r\n";

    private static readonly string[] Expected = ["ECHO|a\r\nb!", "PING", "", "SET|k|", "GET|k"];

    private static List<string> Decode(IEnumerable<byte[]> chunks) =>
        chunks.Select(static c => (ReadOnlyMemory<byte>)c).ToObservable()
            .Decode(static () => new RespDecoder())
            .Select(static command => string.Join("|", command.Arguments.Select(static a => Encoding.Latin1.GetString(a.Span))))
            .ToList().Wait().ToList();

    [Test]
    public void OneChunk_GivesEveryRequest()
    {
        Assert.That(Decode([Encoding.ASCII.GetBytes(Pipeline)]), Is.EqualTo(Expected));
    }

    [Test]
    public void EverySplitPoint_GivesTheSameRequests()
    {
        var bytes = Encoding.ASCII.GetBytes(Pipeline);
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Assert.That(Decode([bytes[..cut], bytes[cut..]]), Is.EqualTo(Expected), $"cut at {cut}");
        }

        Assert.That(Decode(bytes.Select(static b => new[] { b })), Is.EqualTo(Expected), "one byte per chunk");
    }

    [Test]
    public void HugeBulkLength_FailsOnTheHeader_BeforeAnyBodyArrives()
    {
        var error = Assert.Throws<LimitOverrunException>(() => Decode([Encoding.ASCII.GetBytes("*1\r\n$1048577\r\n")]));
        Assert.That(error!.Message, Does.Contain("invalid bulk length"));
        Assert.Throws<LimitOverrunException>(() => Decode([Encoding.ASCII.GetBytes("*9999999\r\n")]));
        Assert.Throws<LimitOverrunException>(() => Decode([new byte[RespDecoder.MaxInlineLength + 1]]), "an endless inline line");
    }

    [Test]
    public void MalformedInput_IsInvalidData_AndACutRequestIsIncomplete()
    {
        Assert.Throws<InvalidDataException>(() => Decode([Encoding.ASCII.GetBytes("*1\r\n+PING\r\n")]));
        Assert.Throws<InvalidDataException>(() => Decode([Encoding.ASCII.GetBytes("*x\r\n")]));
        Assert.Throws<InvalidDataException>(() => Decode([Encoding.ASCII.GetBytes("*1\r\n$4\r\nPINGxx")]));
        var cut = Assert.Throws<IncompleteReadException>(() => Decode([Encoding.ASCII.GetBytes("*1\r\n$4\r\nPI")]));
        Assert.That(Encoding.ASCII.GetString(cut!.Partial.Span), Is.EqualTo("*1\r\n$4\r\nPI"));
    }
}
