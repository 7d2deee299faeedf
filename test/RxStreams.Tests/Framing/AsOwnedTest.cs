using System.Reactive.Disposables;
using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>
/// <c>AsOwned()</c>: the caller's promise that a source never rewrites emitted memory lets the framing operators adopt
/// its chunks instead of copying them. The frames must be the same with and without it, and the promise must matter:
/// without it a source that reuses its buffer is safe (the operators copy), with it the same source corrupts frames.
/// </summary>
public class AsOwnedTest : ReactiveTest
{
    private const int Seed = 1515;

    public static IEnumerable<TestCaseData> Framers()
    {
        (string Name, Func<IObservable<ReadOnlyMemory<byte>>, IObservable<ReadOnlyMemory<byte>>> Push, Func<IAsyncEnumerable<ReadOnlyMemory<byte>>, IAsyncEnumerable<ReadOnlyMemory<byte>>> Pull)[] framers =
        [
            ("Lines", static s => s.Lines(), static s => s.Lines()),
            ("Until CRLF", static s => s.Until(B("\r\n")), static s => s.Until(B("\r\n"))),
            ("Until CRLF or LF", static s => s.Until([B("\r\n"), B("\n")]), static s => s.Until([B("\r\n"), B("\n")])),
            ("Exactly 7", static s => s.Exactly(7), static s => s.Exactly(7)),
            ("Chunks 100", static s => s.Chunks(100), static s => s.Chunks(100)),
            ("LengthPrefixed 1 byte", static s => s.LengthPrefixed(Header1), static s => s.LengthPrefixed(Header1)),
            ("VarintPrefixed", static s => s.VarintPrefixed(), static s => s.VarintPrefixed()),
            ("ToEnd", static s => s.ToEnd(), static s => s.ToEnd()),
        ];

        foreach (var (name, push, pull) in framers)
        {
            yield return new TestCaseData(push, pull).SetName($"AsOwned_SameFramesOverRandomSplits({name})");
        }
    }

    private static LengthFieldOptions Header1 => new() { LengthFieldSize = 1 };

    [TestCaseSource(nameof(Framers))]
    public void AsOwned_SameFramesOverRandomSplits(
        Func<IObservable<ReadOnlyMemory<byte>>, IObservable<ReadOnlyMemory<byte>>> push,
        Func<IAsyncEnumerable<ReadOnlyMemory<byte>>, IAsyncEnumerable<ReadOnlyMemory<byte>>> pull)
    {
        var random = new Random(Seed);
        for (int round = 0; round < 200; round++)
        {
            var input = RandomInput(random);
            var cuts = RandomCuts(random, input.Length);
            string at = $"round {round}, cuts [{string.Join(",", cuts)}]";

            // The promise kept: chunks are slices of an array nobody writes to again (contiguous, as a reader's are).
            var copied = RunPush(push, new ChunksOf(input, cuts));
            var adopted = RunPush(push, new ChunksOf(input, cuts).AsOwned());
            Assert.That(adopted.ToString(), Is.EqualTo(copied.ToString()), $"push, {at}");

            var pulledCopied = RunPull(s => pull(s).Select(S), AsyncChunks(Slices(input, cuts)));
            var pulledAdopted = RunPull(s => pull(s).Select(S), AsyncChunks(Slices(input, cuts)).AsOwned());
            Assert.That(pulledAdopted.ToString(), Is.EqualTo(pulledCopied.ToString()), $"pull, {at}");
            Assert.That(pulledAdopted.ToString(), Is.EqualTo(copied.ToString()), $"pull vs push, {at}");
        }
    }

    [Test]
    public void AsOwned_Marbles_LinesAsWithoutIt()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(150, B("ignored before subscription\n")),
            OnNext(210, B("ab")),
            OnNext(220, B("c\nd")),
            OnNext(230, B("e\n\nf")),
            OnCompleted<ReadOnlyMemory<byte>>(300));

        var res = scheduler.Start(() => xs.AsOwned().Lines().Select(S));

        AssertMessages(res.Messages,
            OnNext(220, "abc\n"),
            OnNext(230, "de\n"),
            OnNext(230, "\n"),
            OnNext(300, "f"),
            OnCompleted<string>(300));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 300));
    }

    [Test]
    public void AsOwned_Marbles_ErrorCarriesTheUnfinishedFrame()
    {
        var scheduler = new TestScheduler();
        var failure = new IOException("reset");
        var xs = scheduler.CreateHotObservable(
            OnNext(210, B("ab\ncd")),
            OnError<ReadOnlyMemory<byte>>(250, failure));

        var res = scheduler.Start(() => xs.AsOwned().Until(B("\n")).Select(S));

        AssertMessages(res.Messages,
            OnNext(210, "ab\n"),
            OnError<string>(250, e => e is IncompleteReadException { InnerException: var inner } ire && S(ire.Partial) == "cd" && ReferenceEquals(inner, failure)));
        AssertSubscriptions(xs.Subscriptions, Subscribe(200, 250));
    }

    [Test]
    public void AsOwned_WithoutIt_AReusedBufferIsSafe()
    {
        // The operators copy a source's chunks unless told otherwise, so a source that rewrites its one buffer after
        // every OnNext still yields the right frames, kept to the end.
        var frames = new List<ReadOnlyMemory<byte>>();
        using (new ReusedBufferSource(Lines).Lines().Subscribe(frames.Add))
        {
        }

        Assert.That(frames.Select(S), Is.EqualTo(ExpectedLines));
    }

    [Test]
    public void AsOwned_ReusedBuffer_BreaksThePromise()
    {
        // The same source with AsOwned: the frames are slices of the buffer it rewrites, so what the consumer kept changes
        // under it. This is what the caller promises cannot happen; it shows the promise is what makes adoption safe.
        var frames = new List<ReadOnlyMemory<byte>>();
        using (new ReusedBufferSource(Lines).AsOwned().Lines().Subscribe(frames.Add))
        {
        }

        Assert.That(frames.Select(S), Is.Not.EqualTo(ExpectedLines));
    }

    [Test]
    public async Task AsOwned_Pull_WithoutIt_AReusedBufferIsSafe_WithItNot()
    {
        var copied = await ReusedBufferAsync(Lines).Lines().ToListAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var adopted = await ReusedBufferAsync(Lines).AsOwned().Lines().ToListAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(copied.Select(S), Is.EqualTo(ExpectedLines), "copied");
            Assert.That(adopted.Select(S), Is.Not.EqualTo(ExpectedLines), "adopted from a buffer the source rewrites");
        });
    }

    [Test]
    public void AsOwned_OwnedSourcesAreReturnedAsTheyAre()
    {
        var reader = new ConnectionReader();
        var lines = Observable.Never<ReadOnlyMemory<byte>>().Lines();
        var plain = Observable.Never<ReadOnlyMemory<byte>>();
        var chunks = reader.ReadChunksAsync();
        var marked = plain.AsOwned();

        Assert.Multiple(() =>
        {
            Assert.That(reader.AsOwned(), Is.SameAs(reader), "a reader keeps its own fast path and frame timeout");
            Assert.That(lines.AsOwned(), Is.SameAs(lines), "a byte framer's frames are owned already");
            Assert.That(marked, Is.Not.SameAs(plain));
            Assert.That(marked.AsOwned(), Is.SameAs(marked), "marking twice wraps once");
            Assert.That(chunks.AsOwned(), Is.SameAs(chunks));
            Assert.That(() => NullSource.AsOwned(), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
            Assert.That(() => ((IAsyncEnumerable<ReadOnlyMemory<byte>>)null!).AsOwned(), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("source"));
        });
    }

    [Test]
    public void AsOwned_DisposingUnsubscribesFromTheSource()
    {
        var disposed = false;
        var source = Observable.Create<ReadOnlyMemory<byte>>(_ => Disposable.Create(() => disposed = true));

        source.AsOwned().Lines().Subscribe(_ => { }).Dispose();

        Assert.That(disposed, Is.True);
    }

    private static readonly string[] ExpectedLines = [.. Enumerable.Range(0, 20).Select(i => $"line {i} {new string((char)('a' + i), i)}\n")];

    /// <summary>The lines, cut 5 bytes at a time, so most lines straddle chunks (their start waits in the buffer).</summary>
    private static IEnumerable<byte[]> Lines => Cut(string.Concat(ExpectedLines), 5);

    private static IEnumerable<byte[]> Cut(string text, int size)
    {
        var bytes = B(text).ToArray();
        for (int i = 0; i < bytes.Length; i += size)
        {
            yield return bytes[i..Math.Min(bytes.Length, i + size)];
        }
    }

    /// <summary>Reads every chunk into one buffer and emits a slice of it, then scribbles over the buffer: a source that reuses its memory.</summary>
    private sealed class ReusedBufferSource(IEnumerable<byte[]> chunks) : IObservable<ReadOnlyMemory<byte>>
    {
        public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
        {
            var buffer = new byte[64];
            foreach (var chunk in chunks)
            {
                chunk.CopyTo(buffer, 0);
                observer.OnNext(buffer.AsMemory(0, chunk.Length));
                buffer.AsSpan().Fill((byte)'#');
            }

            observer.OnCompleted();
            return Disposable.Empty;
        }
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReusedBufferAsync(IEnumerable<byte[]> chunks)
    {
        var buffer = new byte[64];
        foreach (var chunk in chunks)
        {
            await Task.Yield();
            chunk.CopyTo(buffer, 0);
            yield return buffer.AsMemory(0, chunk.Length);
            buffer.AsSpan().Fill((byte)'#');
        }
    }

    /// <summary>Slices of one array, as a socket reader's chunks are (so adoption merges neighbours).</summary>
    private sealed class ChunksOf(byte[] input, IReadOnlyList<int> cuts) : IObservable<ReadOnlyMemory<byte>>
    {
        public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
        {
            foreach (var chunk in Slices(input, cuts))
            {
                observer.OnNext(chunk);
            }

            observer.OnCompleted();
            return Disposable.Empty;
        }
    }

    private static Outcome RunPush(Func<IObservable<ReadOnlyMemory<byte>>, IObservable<ReadOnlyMemory<byte>>> op, IObservable<ReadOnlyMemory<byte>> source) =>
        Run(s => op(s).Select(S), source, static () => { });

    private static List<ReadOnlyMemory<byte>> Slices(byte[] input, IReadOnlyList<int> cuts)
    {
        var chunks = new List<ReadOnlyMemory<byte>>();
        int start = 0;
        foreach (int end in cuts.Append(input.Length))
        {
            chunks.Add(input.AsMemory(start, end - start));
            start = end;
        }

        return chunks;
    }

    /// <summary>Up to 400 bytes drawn mostly from "ab\r\n" and small lengths, so separators, headers and varints all occur.</summary>
    private static byte[] RandomInput(Random random)
    {
        var bytes = new byte[random.Next(0, 400)];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = random.Next(6) switch
            {
                0 => (byte)'\r',
                1 => (byte)'\n',
                2 => (byte)random.Next(0, 12),
                _ => (byte)('a' + random.Next(3)),
            };
        }

        return bytes;
    }

    private static int[] RandomCuts(Random random, int length)
    {
        int count = length == 0 ? 0 : random.Next(0, Math.Min(length, 30));
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(0, length + 1)).Order()];
    }
}
