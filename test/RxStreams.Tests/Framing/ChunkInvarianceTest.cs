using System.Reactive.Linq;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;
using PullOp = System.Func<System.Collections.Generic.IAsyncEnumerable<System.ReadOnlyMemory<byte>>, System.Collections.Generic.IAsyncEnumerable<string>>;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Contract guarantee 2 as properties: for random inputs, every operator gives the same frames and the same error
/// (type, <c>Partial</c>, <c>Expected</c>) whether the bytes arrive in one chunk, in random chunks (empty ones included),
/// one byte at a time, or as owned memory the operator adopts, and whether they are pushed (IObservable) or pulled
/// (IAsyncEnumerable, the connection's ReadChunksAsync included); and the one-chunk result is the naive model's.
/// </summary>
/// <remarks>Each case prints its seed; to explore further, change <see cref="BaseSeed"/>.</remarks>
public class ChunkInvarianceTest
{
    private const int BaseSeed = 20_240_611;
    private const int Cases = 400;

    /// <summary>Separator sets for Until: single, multi-byte, self-overlapping, and several (ties, earliest end).</summary>
    private static readonly string[][] SeparatorSets =
    [
        ["\n"], ["\r\n"], ["SEP"], ["aa"], ["aba"], ["\r\n", "\n"], [";", "SEP"], ["ABCD", "BC"], ["\n", "\r\n", "SEP"],
    ];

    public static IEnumerable<string> Operators => ["Lines", "Until", "Exactly", "Chunks", "ToEnd", "Decode"];

    public static IEnumerable<string> LimitedOperators => ["Lines", "Until", "ToEnd"];

    [TestCaseSource(nameof(Operators))]
    public void ChunkInvariance_SameFramesAndErrors(string op)
    {
        var failures = new List<string>();
        var endings = new HashSet<string>();
        for (int i = 0; i < Cases && failures.Count < 5; i++)
        {
            int seed = BaseSeed + i;
            var c = Generate(op, new Random(seed));
            var input = B(c.Input);
            var one = Run(c.Op, [input]);
            endings.Add(one.Error?.GetType().Name ?? (one.Frames.Count == 0 ? "empty" : "frames"));

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
        string[] expectedEndings = op switch
        {
            "Lines" => ["empty", "frames", nameof(LimitOverrunException)],
            "Until" => ["empty", "frames", nameof(LimitOverrunException), nameof(IncompleteReadException)],
            "ToEnd" => ["frames", nameof(LimitOverrunException)],
            "Chunks" => ["empty", "frames"],
            _ => ["empty", "frames", nameof(IncompleteReadException)],
        };
        Assert.That(endings, Is.SupersetOf(expectedEndings), "outcomes the generator reached");
    }

    [TestCaseSource(nameof(LimitedOperators))]
    public void ChunkInvariance_LimitOverrunConsumed(string op)
    {
        // The error type is chunk-invariant (checked with the frames elsewhere). Consumed follows asyncio and describes
        // the buffer when the overrun is found, so it may shrink when fewer bytes had arrived, but never below the
        // first byte that proves the overrun and never above what one chunk gives.
        var failures = new List<string>();
        for (int i = 0; i < Cases && failures.Count < 5; i++)
        {
            int seed = BaseSeed + i;
            var c = Generate(op, new Random(seed));
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
        // Exhaustive: every way to cut a short input into two or three chunks, so every separator is split at every
        // position at least once.
        var failures = new List<string>();
        int tested = 0;
        for (int i = 0; i < 150 && failures.Count < 5; i++)
        {
            int seed = BaseSeed + 100_000 + i;
            var c = Generate(op, new Random(seed));
            if (c.Input.Length > 14)
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
                    var chunks = new ReadOnlyMemory<byte>[] { input.AsMemory(0, a), input.AsMemory(a, b - a), input.AsMemory(b) };
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

        Assert.That(tested, Is.GreaterThanOrEqualTo(60), "short inputs the generator produced");
    }

    /// <summary>The same input split several ways: random cuts (with empty chunks), one byte at a time, and owned memory.</summary>
    private static IEnumerable<(string Name, Outcome Outcome)> Splits(Case c, Random random)
    {
        var input = Encoding.Latin1.GetBytes(c.Input);
        for (int k = 0; k < 4; k++)
        {
            var cuts = RandomCuts(random, input.Length);
            yield return ($"[{string.Join(",", cuts)}]", Run(c.Op, Cut(input, cuts)));
        }

        var bytewise = Enumerable.Range(1, Math.Max(0, input.Length - 1)).ToArray();
        yield return ("bytewise", Run(c.Op, Cut(input, bytewise)));

        var ownedCuts = RandomCuts(random, input.Length);
        yield return ($"owned-contiguous[{string.Join(",", ownedCuts)}]", Run(c.Op, new OwnedChunkSource(input, ownedCuts, contiguous: true), static () => { }));
        yield return ($"owned-separate[{string.Join(",", ownedCuts)}]", Run(c.Op, new OwnedChunkSource(input, ownedCuts, contiguous: false), static () => { }));

        // Pull: the same cases through the IAsyncEnumerable operators, from a plain async sequence (copied), an owned one
        // (adopted) and a connection's ReadChunksAsync (decoded in the reader's buffer).
        foreach (var (name, source) in PullSources(input, RandomCuts(random, input.Length)))
        {
            yield return (name, RunPull(c.Pull, source));
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

    private sealed record Case(string Description, string Input, Func<IObservable<ReadOnlyMemory<byte>>, IObservable<string>> Op, Outcome Expected)
    {
        /// <summary>The smallest Consumed an overrun may report: the first byte count that proves it.</summary>
        public long MinConsumed { get; init; }

        /// <summary>The same operator, pull style (<see cref="AsyncFramingExtensions"/>).</summary>
        public required PullOp Pull { get; init; }
    }

    private static Case Generate(string op, Random random)
    {
        switch (op)
        {
            case "Lines":
            {
                int limit = random.Next(1, 9);
                var input = SeparatedInput(random, ["\n"], limit, "ab\r");
                return new Case($"Lines({limit})", input, s => s.Lines(limit).Select(S), ReferenceModels.Separated(input, ["\n"], limit, emitPartial: true)) { MinConsumed = limit + 1, Pull = p => p.Lines(limit).Select(S) };
            }

            case "Until":
            {
                int limit = random.Next(1, 9);
                var separators = SeparatorSets[random.Next(SeparatorSets.Length)];
                var input = SeparatedInput(random, separators, limit, "abSEP\r\nBC;");
                var memories = separators.Select(static s => B(s)).ToArray();
                bool single = separators.Length == 1 && random.Next(2) == 0;
                Func<IObservable<ReadOnlyMemory<byte>>, IObservable<string>> framer = single
                    ? s => s.Until(memories[0], limit).Select(S)
                    : s => s.Until(memories, limit).Select(S);
                PullOp pullFramer = single
                    ? p => p.Until(memories[0], limit).Select(S)
                    : p => p.Until(memories, limit).Select(S);
                return new Case($"Until([{string.Join(",", separators.Select(Show))}], {limit})", input, framer, ReferenceModels.Separated(input, separators, limit, emitPartial: false)) { MinConsumed = limit + 1, Pull = pullFramer };
            }

            case "Exactly":
            case "Chunks":
            {
                int length = random.Next(1, 7);
                var input = RandomText(random, random.Next(0, 5) * length + random.Next(-1, 2), "abc");
                bool chunks = op == "Chunks";
                return new Case($"{op}({length})", input, chunks ? s => s.Chunks(length).Select(S) : s => s.Exactly(length).Select(S), ReferenceModels.Fixed(input, length, chunks))
                {
                    Pull = chunks ? p => p.Chunks(length).Select(S) : p => p.Exactly(length).Select(S),
                };
            }

            case "ToEnd":
            {
                int limit = random.Next(0, 10);
                var input = RandomText(random, Math.Max(0, limit + random.Next(-3, 3)), "abc\n");
                return new Case($"ToEnd({limit})", input, s => s.ToEnd(limit).Select(S), ReferenceModels.ToEnd(input, limit)) { MinConsumed = limit, Pull = p => p.ToEnd(limit).Select(S) };
            }

            case "Decode":
            {
                var builder = new StringBuilder();
                int frames = random.Next(0, 6);
                for (int f = 0; f < frames; f++)
                {
                    int length = random.Next(0, 5);
                    builder.Append((char)length).Append(RandomText(random, length, "xyz\u0001"));
                }

                if (random.Next(3) == 0)
                {
                    builder.Append((char)random.Next(1, 6)).Append(RandomText(random, random.Next(0, 1), "xyz"));
                }

                var input = builder.ToString();
                return new Case("Decode(length-prefixed)", input, static s => s.Decode(static () => new LengthPrefixedStringDecoder()), ReferenceModels.LengthPrefixed(input))
                {
                    Pull = static p => p.Decode(static () => new LengthPrefixedStringDecoder()),
                };
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, null);
        }
    }

    /// <summary>
    /// Frames whose bodies are close to the limit (L-1, L, L+1, L+2) or random, mostly ended by one of the separators,
    /// sometimes by a separator's prefix; bodies draw from <paramref name="alphabet"/>, which includes separator bytes.
    /// </summary>
    private static string SeparatedInput(Random random, string[] separators, int limit, string alphabet)
    {
        var builder = new StringBuilder();
        int frames = random.Next(0, 5);
        for (int f = 0; f < frames; f++)
        {
            int[] lengths = [0, 1, limit - 1, limit, limit, limit + 1, limit + 1, limit + 2, random.Next(0, 2 * limit + 3)];
            int length = Math.Max(0, lengths[random.Next(lengths.Length)]);
            builder.Append(RandomText(random, length, random.Next(3) == 0 ? alphabet : "ab"));
            var separator = separators[random.Next(separators.Length)];
            int roll = random.Next(10);
            if (roll < 8 || f < frames - 1)
            {
                builder.Append(separator);
            }
            else if (roll == 8)
            {
                builder.Append(separator[..random.Next(0, separator.Length)]);
            }
        }

        return builder.ToString();
    }

    private static string RandomText(Random random, int length, string alphabet) =>
        string.Create(Math.Max(0, length), (random, alphabet), static (span, state) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = state.alphabet[state.random.Next(state.alphabet.Length)];
            }
        });
}
