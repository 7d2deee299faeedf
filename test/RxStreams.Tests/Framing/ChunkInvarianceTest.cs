using System.Text;
using NUnit.Framework;
using static RxStreams.Tests.Framing.FramingTestKit;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Contract guarantee 2 as properties, for every framer (<see cref="ChunkInvarianceCases.Operators"/>): for random
/// inputs, the same frames and the same error (type, <c>Partial</c>, <c>Expected</c>) whether the bytes arrive in one
/// chunk, in random chunks (empty ones included), one byte at a time, or as owned memory the operator adopts, and
/// whether they are pushed (IObservable) or pulled (IAsyncEnumerable, the connection's ReadChunksAsync included); and
/// the one-chunk result is the naive model's. The cases (generators and models) are in <see cref="ChunkInvarianceCases"/>.
/// </summary>
/// <remarks>Each failure prints its seed; to explore further, change the family's seed in <see cref="ChunkInvarianceCases"/>.</remarks>
public class ChunkInvarianceTest
{
    private const int Cases = 400;

    public static IEnumerable<string> Operators => ChunkInvarianceCases.Operators;

    public static IEnumerable<string> LimitedOperators => ["Lines", "Until", "ToEnd"];

    [TestCaseSource(nameof(Operators))]
    public void ChunkInvariance_SameFramesAndErrors(string op)
    {
        var family = ChunkInvarianceCases.FamilyOf(op);
        var failures = new List<string>();
        var endings = new HashSet<string>();
        int skipping = 0;
        for (int i = 0; i < Cases && failures.Count < 5; i++)
        {
            int seed = family.BaseSeed + i;
            var c = ChunkInvarianceCases.Generate(op, new Random(seed));
            var one = Run(c.Op, [B(c.Input)]);
            endings.Add(one.Error?.GetType().Name ?? (one.Frames.Count == 0 ? "empty" : "frames"));
            skipping += c.Skips > 0 ? 1 : 0;

            // The one-chunk run is asyncio's answer with everything buffered: all of it, Consumed included.
            if (one.ToString() != c.Expected.ToString())
            {
                failures.Add($"seed={seed} {c.Description} input={Show(c.Input)}: one chunk gave {one}, model says {c.Expected}");
                continue;
            }

            foreach (var (name, outcome) in Splits(c, new Random(seed ^ 0x5EED)))
            {
                if (outcome.Shape != one.Shape)
                {
                    failures.Add($"seed={seed} {c.Description} input={Show(c.Input)} split={name}: {outcome.Shape}, one chunk gave {one.Shape}");
                    break;
                }
            }
        }

        if (failures.Count > 0)
        {
            Assert.Fail(string.Join(Environment.NewLine, failures));
        }

        // The generator must reach every ending the operator has, or the property proves little.
        Assert.That(endings, Is.SupersetOf(ChunkInvarianceCases.Endings(op)), "outcomes the generator reached");
        if (op.EndsWith("+Skip", StringComparison.Ordinal))
        {
            Assert.That(skipping, Is.GreaterThan(Cases / 5), "cases that skip at least one frame");
        }
    }

    [TestCaseSource(nameof(LimitedOperators))]
    public void ChunkInvariance_LimitOverrunConsumed(string op)
    {
        // The error type is chunk-invariant (checked with the frames elsewhere). Consumed follows asyncio and describes
        // the buffer when the overrun is found, so it may shrink when fewer bytes had arrived, but never below the
        // first byte that proves the overrun and never above what one chunk gives.
        var family = ChunkInvarianceCases.FamilyOf(op);
        var failures = new List<string>();
        for (int i = 0; i < Cases && failures.Count < 5; i++)
        {
            int seed = family.BaseSeed + i;
            var c = ChunkInvarianceCases.Generate(op, new Random(seed));
            var one = Run(c.Op, [B(c.Input)]);
            if (one.Error is not LimitOverrunException)
            {
                continue;
            }

            foreach (var (name, outcome) in Splits(c, new Random(seed ^ 0x5EED)))
            {
                if (outcome.Error is not LimitOverrunException || outcome.Consumed > one.Consumed || outcome.Consumed < c.MinConsumed)
                {
                    failures.Add($"seed={seed} {c.Description} input={Show(c.Input)} split={name}: {outcome.Error?.GetType().Name} consumed={outcome.Consumed}, one chunk gave consumed={one.Consumed}");
                    break;
                }
            }
        }

        if (failures.Count > 0)
        {
            Assert.Fail(string.Join(Environment.NewLine, failures));
        }
    }

    [TestCaseSource(nameof(Operators))]
    public void ChunkInvariance_EverySplitPositionOfShortInputs(string op)
    {
        // Exhaustive: every way to cut a short input into two or three chunks, pushed and pulled, so every separator
        // (and every length field) is split at every position at least once.
        var family = ChunkInvarianceCases.FamilyOf(op);
        var failures = new List<string>();
        int tested = 0;
        for (int i = 0; i < family.ShortAttempts && failures.Count < 5 && tested < family.ShortCap; i++)
        {
            int seed = family.BaseSeed + 100_000 + i;
            var c = ChunkInvarianceCases.Generate(op, new Random(seed));
            if (c.Input.Length > family.ShortLength)
            {
                continue;
            }

            tested++;
            var input = Encoding.Latin1.GetBytes(c.Input);
            int n = input.Length;
            for (int a = 0; a <= n && failures.Count < 5; a++)
            {
                for (int b = a; b <= n; b++)
                {
                    ReadOnlyMemory<byte>[] chunks = [input.AsMemory(0, a), input.AsMemory(a, b - a), input.AsMemory(b)];
                    var outcome = Run(c.Op, chunks);
                    var pulled = RunPull(c.Pull, AsyncChunks(chunks));
                    if (outcome.Shape != c.Expected.Shape || pulled.Shape != c.Expected.Shape)
                    {
                        failures.Add($"seed={seed} {c.Description} input={Show(c.Input)} cuts at {a},{b}: push {outcome.Shape}, pull {pulled.Shape}, model says {c.Expected.Shape}");
                        break;
                    }
                }
            }
        }

        if (failures.Count > 0)
        {
            Assert.Fail(string.Join(Environment.NewLine, failures));
        }

        Assert.That(tested, Is.GreaterThanOrEqualTo(family.ShortMinimum), "short inputs the generator produced");
    }

    /// <summary>
    /// The same input split several ways and run push and pull: random cuts (with empty chunks), one byte at a time,
    /// owned memory; pulled as one chunk, from a plain async sequence (copied), an owned one (adopted), a connection's
    /// ReadChunksAsync (decoded in the reader's buffer) and one byte at a time.
    /// </summary>
    private static IEnumerable<(string Name, Outcome Outcome)> Splits(ChunkInvarianceCases.Case c, Random random)
    {
        var input = Encoding.Latin1.GetBytes(c.Input);
        for (int k = 0; k < 4; k++)
        {
            var cuts = RandomCuts(random, input.Length);
            yield return ($"[{string.Join(",", cuts)}]", Run(c.Op, Cut(input, cuts)));
        }

        int[] bytewise = [.. Enumerable.Range(1, Math.Max(0, input.Length - 1))];
        yield return ("bytewise", Run(c.Op, Cut(input, bytewise)));

        var ownedCuts = RandomCuts(random, input.Length);
        yield return ($"owned-contiguous[{string.Join(",", ownedCuts)}]", Run(c.Op, new OwnedChunkSource(input, ownedCuts, contiguous: true), static () => { }));
        yield return ($"owned-separate[{string.Join(",", ownedCuts)}]", Run(c.Op, new OwnedChunkSource(input, ownedCuts, contiguous: false), static () => { }));

        yield return ("pull-one-chunk", RunPull(c.Pull, AsyncChunks(Cut(input, []))));
        foreach (var (name, source, owner) in PullSources(input, RandomCuts(random, input.Length)))
        {
            var outcome = RunPull(c.Pull, source);
            owner?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            yield return (name, outcome);
        }

        yield return ("pull-bytewise", RunPull(c.Pull, AsyncChunks(Cut(input, bytewise))));
    }

    /// <summary>Sorted cut positions in [0, length]; repeats make empty chunks.</summary>
    private static int[] RandomCuts(Random random, int length)
    {
        int count = random.Next(0, length + 2);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(0, length + 1)).Order()];
    }

    private static List<ReadOnlyMemory<byte>> Cut(byte[] input, IReadOnlyList<int> cuts)
    {
        var chunks = new List<ReadOnlyMemory<byte>>();
        int start = 0;
        foreach (int end in cuts.Append(input.Length))
        {
            chunks.Add(input.AsSpan(start, end - start).ToArray()); // a fresh array per chunk
            start = end;
        }

        return chunks;
    }
}
