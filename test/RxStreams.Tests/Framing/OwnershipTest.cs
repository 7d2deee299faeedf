using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Contract guarantee 1: every frame an operator emits belongs to the receiver and is never overwritten, even when the
/// upstream reuses (and scribbles over) its own buffer after every <c>OnNext</c>, and even when frames are kept until
/// the end of a long stream.
/// </summary>
public class OwnershipTest
{
    private const int Seed = 4242;

    /// <summary>About 300 KB of "\r\n"- or "\n"-terminated lines of 0 to 3,000 bytes, so frames straddle many chunks and arrays.</summary>
    private static readonly byte[] Input = MakeInput();

    public static IEnumerable<TestCaseData> Framers()
    {
        (string Name, Func<IObservable<ReadOnlyMemory<byte>>, IObservable<ReadOnlyMemory<byte>>> Op, Func<string, Outcome> Model)[] framers =
        [
            ("Lines", static s => s.Lines(), static t => ReferenceModels.Separated(t, ["\n"], FramingExtensions.DefaultLimit, emitPartial: true)),
            ("Until CRLF", static s => s.Until(FramingTestKit.B("\r\n")), static t => ReferenceModels.Separated(t, ["\r\n"], FramingExtensions.DefaultLimit, emitPartial: false)),
            ("Until CRLF or LF", static s => s.Until([FramingTestKit.B("\r\n"), FramingTestKit.B("\n")]), static t => ReferenceModels.Separated(t, ["\r\n", "\n"], FramingExtensions.DefaultLimit, emitPartial: false)),
            ("Exactly 7", static s => s.Exactly(7), static t => ReferenceModels.Fixed(t, 7, allowShortLast: false)),
            ("Chunks 1000", static s => s.Chunks(1000), static t => ReferenceModels.Fixed(t, 1000, allowShortLast: true)),
            ("ToEnd", static s => s.ToEnd(), static t => ReferenceModels.ToEnd(t, int.MaxValue)),
            ("Chunks 100 then Lines", static s => s.Chunks(100).Lines(), static t => ReferenceModels.Separated(t, ["\n"], FramingExtensions.DefaultLimit, emitPartial: true)),
            ("Lines then Chunks 3", static s => s.Lines().Chunks(3), static t => ReferenceModels.Fixed(t, 3, allowShortLast: true)),
            ("Decode slices", static s => s.Decode(static () => new SliceLineDecoder()), static t => ReferenceModels.Separated(t, ["\n"], FramingExtensions.DefaultLimit, emitPartial: true)),
        ];

        foreach (var (name, op, model) in framers)
        {
            var frames = (Func<string, IReadOnlyList<string>?>)(t => model(t) is { Error: null } o ? o.Frames : null);
            yield return new TestCaseData(op, frames, false).SetName($"Ownership_FramesAreNeverOverwritten({name}, random chunks)");

            // Chunks that end where lines end leave the operator's buffer empty between chunks, the moment an
            // implementation is most tempted to rewind and reuse its array.
            yield return new TestCaseData(op, frames, true).SetName($"Ownership_FramesAreNeverOverwritten({name}, line-aligned chunks)");
        }
    }

    [TestCaseSource(nameof(Framers))]
    public void Ownership_FramesAreNeverOverwritten(
        Func<IObservable<ReadOnlyMemory<byte>>, IObservable<ReadOnlyMemory<byte>>> op,
        Func<string, IReadOnlyList<string>?> model,
        bool lineAligned)
    {
        IList<ReadOnlyMemory<byte>>? frames = null;
        Exception? error = null;
        using (op(ReusingSource(Input, Seed, lineAligned)).ToList().Subscribe(list => frames = list, e => error = e))
        {
        }

        var expected = model(Encoding.Latin1.GetString(Input));
        Assert.Multiple(() =>
        {
            Assert.That(error, Is.Null);
            Assert.That(expected, Is.Not.Null, "the model fails on this input");
            Assert.That(frames, Is.Not.Null);
        });

        // Every frame is checked only now, after the whole stream went through the one reused source buffer.
        var actual = frames!.Select(FramingTestKit.S).ToList();
        Assert.That(actual, Has.Count.EqualTo(expected!.Count), $"seed={Seed}");
        for (int i = 0; i < actual.Count; i++)
        {
            if (actual[i] != expected[i])
            {
                Assert.Fail($"seed={Seed}: frame {i} of {actual.Count} was changed after it was emitted: expected {FramingTestKit.Show(Trim(expected[i]))}, now {FramingTestKit.Show(Trim(actual[i]))}");
            }
        }
    }

    [Test]
    public void Ownership_FramesKeptByBufferAndReplay()
    {
        // Buffer() and Replay() hold frames while the operator goes on receiving into its buffer.
        var lines = ReusingSource(Input, Seed + 1, lineAligned: false).Lines().Replay();
        var batches = new List<IList<ReadOnlyMemory<byte>>>();
        using var batching = lines.Buffer(17).Subscribe(batches.Add);
        using (lines.Connect())
        {
        }

        var replayed = new List<string>();
        using (lines.Select(FramingTestKit.S).Subscribe(replayed.Add))
        {
        }

        var expected = ReferenceModels.Separated(Encoding.Latin1.GetString(Input), ["\n"], FramingExtensions.DefaultLimit, emitPartial: true).Frames;
        Assert.Multiple(() =>
        {
            Assert.That(batches.SelectMany(static b => b).Select(FramingTestKit.S), Is.EqualTo(expected), "frames kept by Buffer");
            Assert.That(replayed, Is.EqualTo(expected), "frames kept by Replay");
        });
    }

    /// <summary>
    /// An upstream that owns one 16 KiB array: it copies each chunk in, emits a slice of it, and overwrites the whole
    /// array with 0xEE once <c>OnNext</c> returns. Chunk sizes mix 1-16 bytes and up to 4 KiB, or (line-aligned) one to
    /// three whole lines.
    /// </summary>
    private static IObservable<ReadOnlyMemory<byte>> ReusingSource(byte[] input, int seed, bool lineAligned) =>
        Observable.Create<ReadOnlyMemory<byte>>(observer =>
        {
            var random = new Random(seed);
            var buffer = new byte[16 * 1024];
            for (int pos = 0; pos < input.Length;)
            {
                int n;
                if (lineAligned)
                {
                    n = 0;
                    for (int lines = random.Next(1, 4); lines > 0 && pos + n < input.Length; lines--)
                    {
                        n += input.AsSpan(pos + n).IndexOf((byte)'\n') + 1;
                    }
                }
                else
                {
                    int size = random.Next(2) == 0 ? random.Next(1, 17) : random.Next(1, 4097);
                    n = Math.Min(size, input.Length - pos);
                }

                input.AsSpan(pos, n).CopyTo(buffer);
                observer.OnNext(new ReadOnlyMemory<byte>(buffer, 0, n));
                buffer.AsSpan().Fill(0xEE);
                pos += n;
            }

            observer.OnCompleted();
            return Disposable.Empty;
        });

    private static byte[] MakeInput()
    {
        var random = new Random(Seed);
        var builder = new StringBuilder();
        while (builder.Length < 300_000)
        {
            int length = random.Next(4) == 0 ? random.Next(0, 3000) : random.Next(0, 80);
            for (int i = 0; i < length; i++)
            {
                builder.Append((char)('a' + random.Next(26)));
            }

            builder.Append(random.Next(2) == 0 ? "\r\n" : "\n");
        }

        // Exactly(7) needs a multiple of 7 bytes and Until("\r\n") a last "\r\n": pad with a last line.
        while ((builder.Length + 2) % 7 != 0)
        {
            builder.Append('z');
        }

        builder.Append("\r\n");

        return Encoding.Latin1.GetBytes(builder.ToString());
    }

    private static string Trim(string frame) => frame.Length <= 40 ? frame : frame[..40] + "...";

    /// <summary>A user decoder whose frames are slices of the buffer it is given (which the interface says is immutable).</summary>
    private sealed class SliceLineDecoder : IFrameDecoder<ReadOnlyMemory<byte>>
    {
        public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
        {
            int end = buffer.Span.IndexOf((byte)'\n');
            consumed = end + 1;
            frame = end < 0 ? default : buffer[..consumed];
            return end >= 0;
        }

        public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
        {
            frame = buffer;
            consumed = buffer.Length;
            return !buffer.IsEmpty;
        }
    }
}
