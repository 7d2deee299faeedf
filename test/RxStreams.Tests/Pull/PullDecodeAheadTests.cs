using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Pull;

/// <summary>
/// Pull framing over a reader decodes built-in frames ahead of the consumer, in batches: what the consumer sees must be
/// what one frame at a time gives. Frames decoded but never taken go back to the reader, an error found ahead waits
/// behind the frames before it, and a decoder of the user's own is never run ahead of its consumer.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PullDecodeAheadTests
{
    [Test]
    public async Task ManyLines_BreakInTheSecondBatch_TheNextReadsStartAtTheFirstLineNotTaken()
    {
        const int LineCount = 300; // more than two batches of 128 (FrameEnumerator.AheadCapacity)
        var text = string.Concat(Enumerable.Range(0, LineCount).Select(static i => $"line {i}\n"));
        var reader = FedReader([B(text)]); // one chunk: every line is buffered at once, and more than one batch is decoded

        var taken = new List<string>();
        await foreach (var line in reader.ReadChunksAsync().Lines())
        {
            taken.Add(S(line));
            if (taken.Count == 140)
            {
                break;
            }
        }

        Assert.That(await reader.ReadLineTextAsync().Within(), Is.EqualTo("line 140"));
        var rest = await reader.ReadChunksAsync().Lines().Select(S).ToListAsync().AsTask().Within();
        Assert.That(taken.Concat(["line 140\n"]).Concat(rest), Is.EqualTo(Enumerable.Range(0, LineCount).Select(static i => $"line {i}\n")));
    }

    [Test]
    public async Task LengthPrefixed_BreakAfterTheFirstFrame_TheNextReadGetsTheSecondFramesHeader()
    {
        var reader = FedReader([B("\u0000\u0001a\u0000\u0002bc\u0000\u0001d")]);
        await foreach (var frame in reader.ReadChunksAsync().LengthPrefixed(new LengthFieldOptions { LengthFieldSize = 2 }))
        {
            Assert.That(S(frame), Is.EqualTo("a"));
            break;
        }

        Assert.That(S(await reader.ReadExactlyAsync(4).Within()), Is.EqualTo("\u0000\u0002bc"));
    }

    [Test]
    public async Task AnOverrunBehindFrames_ComesAfterThem_AsPushDeliversIt()
    {
        var input = B("ok\nyes\nmuch too long\n");
        var pulled = new List<string>();
        var pullError = Assert.ThrowsAsync<LimitOverrunException>(async () =>
        {
            await foreach (var line in FedReader([input]).ReadChunksAsync().Lines(limit: 4))
            {
                pulled.Add(S(line));
            }
        });

        var pushed = new List<string>();
        var pushError = Assert.ThrowsAsync<LimitOverrunException>(async () =>
            await FedReader([input]).Lines(limit: 4).Do(line => pushed.Add(S(line))).LastOrDefaultAsync().ToTask().Within());

        Assert.Multiple(() =>
        {
            Assert.That(pulled, Is.EqualTo(new[] { "ok\n", "yes\n" }));
            Assert.That(pushed, Is.EqualTo(pulled));
            Assert.That(pullError!.Consumed, Is.EqualTo(pushError!.Consumed));
        });
    }

    [Test]
    public async Task AnOverrunBehindFrames_BreakingBeforeIt_LeavesItsBytesForTheNextRead()
    {
        var reader = FedReader([B("ok\nyes\nmuch too long\n")]);
        await foreach (var line in reader.ReadChunksAsync().Lines(limit: 4))
        {
            Assert.That(S(line), Is.EqualTo("ok\n"));
            break;
        }

        Assert.That(S(await reader.ReadExactlyAsync(18).Within()), Is.EqualTo("yes\nmuch too long\n"));
    }

    [Test]
    public async Task ADecoderOfTheUsersOwn_SeesWhatItsConsumerDidBetweenFrames_PullAsPush()
    {
        // The consumer switches the decoder from lines to two-byte frames after the first frame: only a decoder that
        // is not run ahead of its consumer can honour that, as push does by running the consumer between two frames.
        var input = B("a\nbb\ncc"); // lines decoded ahead would be "a\n", "bb\n", "cc"
        var pulled = new List<string>();
        var pullDecoder = new SwitchableDecoder();
        await foreach (var frame in FedReader([input]).ReadChunksAsync().Decode(() => pullDecoder))
        {
            pulled.Add(S(frame));
            pullDecoder.TwoByteFrames = true;
        }

        var pushDecoder = new SwitchableDecoder();
        var pushed = await FedReader([input]).Decode(() => pushDecoder)
            .Do(_ => pushDecoder.TwoByteFrames = true).Select(S).ToList().ToTask().Within();

        Assert.That(pulled, Is.EqualTo(new[] { "a\n", "bb", "\nc", "c" }));
        Assert.That(pushed, Is.EqualTo(pulled));
    }

    /// <summary>Lines, or two-byte frames once its consumer says so.</summary>
    private sealed class SwitchableDecoder : IFrameDecoder<ReadOnlyMemory<byte>>
    {
        public bool TwoByteFrames { get; set; }

        public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
        {
            int end = TwoByteFrames ? (buffer.Length >= 2 ? 2 : 0) : buffer.Span.IndexOf((byte)'\n') + 1;
            frame = buffer[..end];
            consumed = end;
            return end > 0;
        }

        public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
        {
            frame = buffer;
            consumed = buffer.Length;
            return !buffer.IsEmpty;
        }
    }
}
