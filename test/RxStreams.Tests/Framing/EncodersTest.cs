using System.Reactive.Linq;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Framing;

/// <summary>
/// <see cref="FrameEncoders"/> against the operators over a real loopback connection: the client writes with the
/// writer-side encoder, the server decodes with the matching operator, and the frames come back whole.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class EncodersTest
{
    /// <summary>Sizes around the stack/pool threshold (512), the varint byte boundaries (128, 16384) and the receive size.</summary>
    private static readonly int[] Sizes = [0, 1, 127, 128, 300, 507, 508, 511, 512, 513, 16383, 16384, 60_000];

    /// <summary>
    /// Starts a server whose connections are decoded with <paramref name="decode"/>, connects, lets <paramref name="write"/>
    /// write, half-closes, and returns what the server decoded (each frame copied) and how the decoding ended.
    /// </summary>
    private static async Task<(List<T> Frames, Exception? Error)> RoundTripAsync<T>(Func<IObservable<ReadOnlyMemory<byte>>, IObservable<T>> decode, Action<ConnectionWriter> write)
    {
        var result = new TaskCompletionSource<(List<T>, Exception?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await Streams.StartServerAsync(
            async (reader, _) =>
            {
                var frames = new List<T>();
                try
                {
                    await decode(reader).Do(frames.Add).LastOrDefaultAsync();
                    result.TrySetResult((frames, null));
                }
                catch (Exception e)
                {
                    result.TrySetResult((frames, e));
                }
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        write(connection.Writer);
        connection.Writer.WriteEof();
        await connection.Writer.DrainAsync().Within();
        return await result.Task.Within();
    }

    private static IEnumerable<TestCaseData> LengthLayouts()
    {
        yield return new TestCaseData(new LengthFieldOptions { MaxFrameLength = 1 << 20 }, 60_000).SetName("WriteLengthPrefixed_RoundTrip(default 4-byte big-endian)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 2, BigEndian = false, LengthAdjustment = -2, MaxFrameLength = 1 << 20 }, 60_000).SetName("WriteLengthPrefixed_RoundTrip(2-byte little-endian counting itself)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 1 }, 255).SetName("WriteLengthPrefixed_RoundTrip(1 byte)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 3, LengthAdjustment = 1 }, 60_000).SetName("WriteLengthPrefixed_RoundTrip(3 bytes with a positive adjustment)");
        yield return new TestCaseData(new LengthFieldOptions { LengthFieldSize = 8, BigEndian = false }, 60_000).SetName("WriteLengthPrefixed_RoundTrip(8-byte little-endian)");
    }

    [TestCaseSource(nameof(LengthLayouts))]
    public async Task WriteLengthPrefixed_RoundTrip(LengthFieldOptions options, int largest)
    {
        // A positive adjustment counts bytes that are always there: a payload shorter than it has no encoding.
        var payloads = Sizes.Where(n => n <= largest && n >= options.LengthAdjustment).Select(static (n, i) => Loopback.Pattern(n, seed: i + 1)).ToList();

        var (frames, error) = await RoundTripAsync(
            s => s.LengthPrefixed(options).Select(static f => f.ToArray()),
            writer => payloads.ForEach(p => writer.WriteLengthPrefixed(p, options)));

        Assert.That(error, Is.Null);
        Assert.That(frames, Is.EqualTo(payloads));
    }

    [Test]
    public async Task WriteVarintPrefixed_RoundTrip()
    {
        var payloads = Sizes.Select(static (n, i) => Loopback.Pattern(n, seed: i + 1)).ToList();

        var (frames, error) = await RoundTripAsync(
            static s => s.VarintPrefixed().Select(static f => f.ToArray()),
            writer => payloads.ForEach(p => writer.WriteVarintPrefixed(p)));

        Assert.That(error, Is.Null);
        Assert.That(frames, Is.EqualTo(payloads));
    }

    [Test]
    public async Task WriteLine_RoundTripThroughLinesText()
    {
        string[] lines = ["hello", "", "w\u00f6rld \u20ac \U0001F600", new string('\u00e9', 5000), "last"];

        var (frames, error) = await RoundTripAsync(
            static s => s.LinesText(),
            writer =>
            {
                foreach (var line in lines)
                {
                    writer.WriteLine(line);
                }
            });

        Assert.That(error, Is.Null);
        Assert.That(frames, Is.EqualTo(lines));
    }

    [Test]
    public async Task WriteText_RoundTripThroughDecodeText_OtherEncoding()
    {
        string[] pieces = ["UTF-16 ", "\U0001F600", new string('\u20ac', 3000)];

        var (frames, error) = await RoundTripAsync(
            static s => s.DecodeText(Encoding.BigEndianUnicode),
            writer =>
            {
                foreach (var piece in pieces)
                {
                    writer.WriteText(piece, Encoding.BigEndianUnicode);
                }
            });

        Assert.That(error, Is.Null);
        Assert.That(string.Concat(frames), Is.EqualTo(string.Concat(pieces)));
    }

    [Test]
    public async Task Encoders_FramesFromSeveralThreadsNeverInterleave()
    {
        // One Write per frame: four threads writing 1,000-byte frames at once still give whole frames, each with its
        // thread's pattern, in each thread's order.
        const int Threads = 4, PerThread = 200;
        var (frames, error) = await RoundTripAsync(
            static s => s.VarintPrefixed().Select(static f => f.ToArray()),
            writer => Task.WaitAll([.. Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
            {
                for (int i = 0; i < PerThread; i++)
                {
                    var payload = new byte[1000];
                    payload.AsSpan().Fill((byte)t);
                    payload[0] = (byte)i;
                    writer.WriteVarintPrefixed(payload);
                }
            }))]));

        Assert.That(error, Is.Null);
        Assert.That(frames, Has.Count.EqualTo(Threads * PerThread));
        Assert.Multiple(() =>
        {
            foreach (var group in frames.GroupBy(static f => f[1]))
            {
                Assert.That(group.All(static f => f.AsSpan(1).IndexOfAnyExcept(f[1]) < 0), Is.True, $"thread {group.Key}: a frame is mixed");
                Assert.That(group.Select(static f => (int)f[0]), Is.EqualTo(Enumerable.Range(0, PerThread)), $"thread {group.Key}: order");
            }
        });
    }

    [Test]
    public async Task Encoders_ArgumentChecking_WriteNothing()
    {
        await using var pair = await ClientAndPeer.OpenAsync();
        var writer = pair.Writer;
        ConnectionWriter nullWriter = null!;
        Assert.Multiple(() =>
        {
            Assert.That(() => nullWriter.WriteLengthPrefixed([1]), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("writer"));
            Assert.That(() => nullWriter.WriteVarintPrefixed([1]), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("writer"));
            Assert.That(() => nullWriter.WriteLine("x"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("writer"));
            Assert.That(() => nullWriter.WriteText("x"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("writer"));
            Assert.That(() => writer.WriteLine(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("line"));
            Assert.That(() => writer.WriteText(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("text"));
            Assert.That(() => writer.WriteLengthPrefixed([1], new LengthFieldOptions { LengthFieldOffset = 1 }), Throws.ArgumentException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => writer.WriteLengthPrefixed([1], new LengthFieldOptions { InitialBytesToStrip = 0 }), Throws.ArgumentException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => writer.WriteLengthPrefixed(new byte[256], new LengthFieldOptions { LengthFieldSize = 1 }), Throws.ArgumentException.With.Property("ParamName").EqualTo("payload"));
            Assert.That(() => writer.WriteLengthPrefixed(new byte[2], new LengthFieldOptions { LengthAdjustment = 3 }), Throws.ArgumentException.With.Property("ParamName").EqualTo("payload"));
            Assert.That(() => writer.WriteLine("\u20ac", Encoding.GetEncoding("us-ascii", EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback)), Throws.InstanceOf<EncoderFallbackException>());
        });
        Assert.That(writer.BufferSize, Is.EqualTo(0), "a refused frame writes nothing");

        writer.WriteLengthPrefixed(new byte[255], new LengthFieldOptions { LengthFieldSize = 1 });
        writer.WriteText(string.Empty);
        writer.Close();
        Assert.That(() => writer.WriteVarintPrefixed([1]), Throws.InvalidOperationException, "after Close, as Write");
        Assert.That(await pair.Peer.ReceiveToEndAsync(), Has.Length.EqualTo(256));
    }
}
