using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Internal;

namespace RxStreams.Tests.Framing;

/// <summary>
/// A framer whose downstream copies every frame (a writer) is lent its chunks, as a reader lends its receive array to
/// <c>reader.Lines().Subscribe(writer)</c>: it must hold nothing of a chunk once <c>OnNext</c> returns, even when a frame
/// straddles chunks (else the reader cannot reuse its array, and a bulk echo allocates per receive), and the frames must
/// still be exactly right while the upstream overwrites its one array after every chunk.
/// </summary>
public class LentChunkFramingTest
{
    private static readonly byte[] Input = MakeInput(new Random(77));

    public static IEnumerable<TestCaseData> Framers()
    {
        (string Name, Func<IObservable<ReadOnlyMemory<byte>>, IObservable<ReadOnlyMemory<byte>>> Op, Func<string, Outcome> Model)[] framers =
        [
            ("Lines", static s => s.Lines(), static t => ReferenceModels.Separated(t, ["\n"], FramingExtensions.DefaultLimit, emitPartial: true)),
            ("Until CRLF or LF", static s => s.Until([FramingTestKit.B("\r\n"), FramingTestKit.B("\n")]), static t => ReferenceModels.Separated(t, ["\r\n", "\n"], FramingExtensions.DefaultLimit, emitPartial: false)),
            ("Exactly 7", static s => s.Exactly(7), static t => ReferenceModels.Fixed(t, 7, allowShortLast: false)),
            ("Chunks 1000", static s => s.Chunks(1000), static t => ReferenceModels.Fixed(t, 1000, allowShortLast: true)),
            ("Chunks 100 then Lines", static s => s.Chunks(100).Lines(), static t => ReferenceModels.Separated(t, ["\n"], FramingExtensions.DefaultLimit, emitPartial: true)),
            ("ToEnd", static s => s.ToEnd(), static t => ReferenceModels.ToEnd(t, int.MaxValue)),
        ];

        foreach (var (name, op, model) in framers)
        {
            var frames = (Func<string, (IReadOnlyList<string> Frames, Exception? Error)>)(t => model(t) is var o ? (o.Frames, o.Error) : default);
            foreach (int maxChunk in new[] { 16, 4096, 64 * 1024 })
            {
                yield return new TestCaseData(op, frames, maxChunk).SetName($"LentChunks_FramesExact_AndNoChunkHeld({name}, chunks up to {maxChunk} B)");
            }
        }
    }

    [TestCaseSource(nameof(Framers))]
    public void LentChunks_FramesExact_AndNoChunkHeld(
        Func<IObservable<ReadOnlyMemory<byte>>, IObservable<ReadOnlyMemory<byte>>> op, Func<string, (IReadOnlyList<string> Frames, Exception? Error)> model, int maxChunk)
    {
        var source = new LendingSource(Input, new Random(maxChunk), maxChunk);
        var copier = new CopyingObserver();
        using (op(source).Subscribe(copier))
        {
            source.Run();
        }

        var expected = model(Encoding.Latin1.GetString(Input));
        Assert.Multiple(() =>
        {
            Assert.That(copier.Error?.GetType(), Is.EqualTo(expected.Error?.GetType()), "the end: completed, or the model's error");
            Assert.That(Partial(copier.Error), Is.EqualTo(Partial(expected.Error)), "the bytes of the frame cut short by the end");
            Assert.That(copier.Completed, Is.EqualTo(expected.Error is null));
            Assert.That(copier.Frames, Is.EqualTo(expected.Frames), "frames, with the upstream array overwritten after every chunk");
            Assert.That(source.ArraysUsed, Is.EqualTo(1), $"the framer held a lent chunk after OnNext ({source.Chunks} chunks)");
        });
    }

    private static string? Partial(Exception? error) => error is IncompleteReadException incomplete ? Encoding.Latin1.GetString(incomplete.Partial.Span) : null;

    /// <summary>Lines of 0 to 20,000 bytes (most short), ending in "\n" or "\r\n", and a last line without one.</summary>
    private static byte[] MakeInput(Random random)
    {
        var text = new StringBuilder();
        for (int i = 0; i < 400; i++)
        {
            int length = random.Next(4) == 0 ? random.Next(0, 20_000) : random.Next(0, 100);
            for (int j = 0; j < length; j++)
            {
                text.Append((char)('a' + ((i + j) % 26)));
            }

            text.Append(random.Next(2) == 0 ? "\n" : "\r\n");
        }

        text.Append("no separator at the end");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>
    /// An upstream that lends slices of one array, as a reader does to a copier (<see cref="ChunkLease"/>): after each
    /// <c>OnNext</c> it asks the consumer whether it still holds the chunk; if not, it overwrites the array and reuses it,
    /// else it moves to a fresh array (the held one is never written again).
    /// </summary>
    private sealed class LendingSource(byte[] input, Random random, int maxChunk) : IObservable<ReadOnlyMemory<byte>>, IOwnedMemorySource
    {
        private IObserver<ReadOnlyMemory<byte>>? _observer;

        public bool EmitsOwnedMemory => true;

        public int ArraysUsed { get; private set; }

        public int Chunks { get; private set; }

        public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
        {
            _observer = observer;
            return new NoDispose();
        }

        public void Run()
        {
            var observer = _observer!;
            var consumer = observer as IChunkConsumer;
            Assert.That(consumer, Is.Not.Null.And.Property(nameof(IChunkConsumer.CopiesChunks)).True, "a framer into a copier copies too");
            var array = new byte[64 * 1024];
            ArraysUsed = 1;
            for (int pos = 0; pos < input.Length;)
            {
                int n = Math.Min(random.Next(1, maxChunk + 1), input.Length - pos);
                input.AsSpan(pos, n).CopyTo(array);
                observer.OnNext(new ReadOnlyMemory<byte>(array, 0, n));
                Chunks++;
                pos += n;
                if (consumer!.HoldsChunk)
                {
                    array = new byte[64 * 1024];
                    ArraysUsed++;
                }
                else
                {
                    array.AsSpan().Fill(0xEE); // reused: whatever the framer kept a reference to is scribbled over
                }
            }

            observer.OnCompleted();
        }

        private sealed class NoDispose : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }

    /// <summary>A downstream like a writer: copies every frame before <c>OnNext</c> returns and keeps no reference.</summary>
    private sealed class CopyingObserver : IObserver<ReadOnlyMemory<byte>>, IChunkConsumer
    {
        public List<string> Frames { get; } = [];

        public Exception? Error { get; private set; }

        public bool Completed { get; private set; }

        public bool CopiesChunks => true;

        public bool HoldsChunk => false;

        public void OnNext(ReadOnlyMemory<byte> value) => Frames.Add(Encoding.Latin1.GetString(value.Span));

        public void OnError(Exception error) => Error = error;

        public void OnCompleted() => Completed = true;
    }
}
