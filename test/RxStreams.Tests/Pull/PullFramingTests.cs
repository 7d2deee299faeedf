using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Pull;

/// <summary>
/// Issue 13 items 1 and 2: the built-in decoders from pull code (<see cref="FrameDecoders"/> with ReadFramesAsync), and
/// the pull framing operators' own behaviour beyond the chunk-invariance properties (ownership, cancellation, errors).
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PullFramingTests
{
    private static readonly LengthFieldOptions TwoByteHeader = new() { LengthFieldSize = 2 };

    [Test]
    public async Task ReadFramesAsync_WithFrameDecodersLengthPrefixed_GivesThePushOperatorsFrames()
    {
        var input = new List<ReadOnlyMemory<byte>> { B("\u0000\u0003abc\u0000"), B("\u0002de\u0000\u0000\u0000\u0001f") };
        var pulled = await FedReader(input).ReadFramesAsync(FrameDecoders.LengthPrefixed(TwoByteHeader)).Select(S).ToListAsync().AsTask().Within();
        var pushed = await FedReader(input).LengthPrefixed(TwoByteHeader).Select(S).ToList().ToTask().Within();

        Assert.That(pulled, Is.EqualTo(pushed));
        Assert.That(pulled, Is.EqualTo(new[] { "abc", "de", "", "f" }));
    }

    [Test]
    public async Task ReadFramesAsync_WithFrameDecodersLinesSkip_DropsTheLongLine_AsTheOperatorDoes()
    {
        var reader = FedReader([B("ok\nmuch too long\nyes\n")]);
        var lines = await reader.ReadFramesAsync(FrameDecoders.Lines(limit: 4, OverflowPolicy.Skip)).Select(S).ToListAsync().AsTask().Within();
        Assert.That(lines, Is.EqualTo(new[] { "ok\n", "yes\n" }));
    }

    [Test]
    public void ReadFramesAsync_WithFrameDecodersExactly_CutShortAtTheEnd_IncompleteReadWithExpected()
    {
        var reader = FedReader([B("abcdef")]);
        var error = Assert.ThrowsAsync<IncompleteReadException>(async () => await reader.ReadFramesAsync(FrameDecoders.Exactly(4)).ToListAsync());
        Assert.That(S(error!.Partial), Is.EqualTo("ef"));
        Assert.That(error.Expected, Is.EqualTo(4));
    }

    [Test]
    public void FrameDecoders_ThroughThePublicContract_FoldSkippedBytesIntoTheNextFrame()
    {
        // A decoder of one's own may delegate to a built-in one: dropped bytes count as consumed by the next frame.
        var decoder = FrameDecoders.Lines(limit: 3, OverflowPolicy.Skip);
        var buffer = B("abcdef\nxy\n");
        Assert.That(decoder.TryDecode(buffer, out var frame, out int consumed), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(S(frame), Is.EqualTo("xy\n"));
            Assert.That(consumed, Is.EqualTo(10));
            Assert.That(decoder.TryDecodeAtEnd(ReadOnlyMemory<byte>.Empty, out _, out _), Is.False);
        });
        Assert.Throws<IncompleteReadException>(() => FrameDecoders.Exactly(3).TryDecodeAtEnd(B("ab"), out _, out _));
    }

    [Test]
    public void FrameDecoders_CheckTheirArguments_AsTheOperatorsDo()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => FrameDecoders.Lines(0));
            Assert.Throws<ArgumentException>(() => FrameDecoders.Until(ReadOnlyMemory<byte>.Empty));
            Assert.Throws<ArgumentOutOfRangeException>(() => FrameDecoders.Exactly(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => FrameDecoders.VarintPrefixed(overflow: (OverflowPolicy)7));
            Assert.Throws<ArgumentNullException>(() => ((IAsyncEnumerable<ReadOnlyMemory<byte>>)null!).Lines());
            Assert.Throws<ArgumentOutOfRangeException>(() => AsyncChunks([]).Chunks(0));
        });
    }

    [Test]
    public void PullOperator_SourceFailsInsideAFrame_IncompleteReadCarriesTheBytesAndTheError()
    {
        var error = Assert.ThrowsAsync<IncompleteReadException>(async () => await FailingAfter(B("one\ntw")).Lines().ToListAsync());
        Assert.That(S(error!.Partial), Is.EqualTo("tw"));
        Assert.That(error.InnerException, Is.InstanceOf<IOException>());
    }

    [Test]
    public async Task PullOperator_Cancelled_ThrowsOperationCanceled_NotIncompleteRead()
    {
        using var cancellation = new CancellationTokenSource();
        await using var pair = InMemoryConnection.CreatePair();
        pair.Server.Writer.Write(Loopback.Bytes("first\npart"));
        var lines = pair.Client.Reader.ReadChunksAsync().Where(static _ => true).Lines().GetAsyncEnumerator(cancellation.Token);
        Assert.That(await lines.MoveNextAsync().AsTask().Within(), Is.True);
        var next = lines.MoveNextAsync().AsTask();
        await cancellation.CancelAsync();
        Assert.That(async () => await next.Within(), Throws.InstanceOf<OperationCanceledException>());
        await lines.DisposeAsync();
    }

    [Test]
    public async Task PullOperator_OverReadChunksAsync_LeavesTheRestForTheNextConsumer()
    {
        await using var pair = InMemoryConnection.CreatePair();
        pair.Server.Writer.Write(Loopback.Bytes("one\ntwo\nthree\n"));
        pair.Server.Writer.WriteEof();

        await foreach (var line in pair.Client.Reader.ReadChunksAsync().Lines())
        {
            Assert.That(S(line), Is.EqualTo("one\n"));
            break; // decoded in the reader's buffer: what was not taken is still the reader's
        }

        Assert.That(await pair.Client.Reader.ReadLineTextAsync().Within(), Is.EqualTo("two"));
    }

    /// <summary>
    /// The names that could clash, in one file with <c>using System.Linq; using System.Reactive.Linq; using RxStreams;
    /// using RxStreams.Framing;</c>: each must bind (this compiles) and do what it says.
    /// </summary>
    [Test]
    public async Task NamesFromRxIxAndTheBcl_BindWithoutAmbiguity()
    {
        IObservable<ReadOnlyMemory<byte>> pushed = Observable.Return(B("a\nb\n"));
        IAsyncEnumerable<ReadOnlyMemory<byte>> pulled = AsyncChunks([B("a\nb\n")]);

        var viaRx = await pushed.Lines().Select(S).Timeout(Loopback.Timeout).ToList().ToTask().Within();        // Rx
        var viaBcl = await pulled.Lines().Select(S).Timeout(Loopback.Timeout).ToListAsync().AsTask().Within();    // .NET + Ix's Timeout
        var bounded = await pushed.Lines().ToBoundedAsyncEnumerable().Select(S).ToListAsync().AsTask().Within(); // ours, bounded
        var unbounded = await pushed.Lines().ToAsyncEnumerable().Select(S).ToListAsync().AsTask().Within();     // Ix's, unbounded
        var back = await pulled.Lines().ToObservable().Select(S).ToList().ToTask().Within();                     // Ix's ToObservable

        Assert.That(new[] { viaRx, viaBcl, bounded, unbounded, back }, Has.All.EqualTo(new[] { "a\n", "b\n" }));
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> FailingAfter(ReadOnlyMemory<byte> chunk)
    {
        await Task.Yield();
        yield return chunk;
        throw new IOException("reset");
    }
}
