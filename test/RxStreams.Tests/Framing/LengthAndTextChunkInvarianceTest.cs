using System.Reactive.Linq;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;
using PullOp = System.Func<System.Collections.Generic.IAsyncEnumerable<System.ReadOnlyMemory<byte>>, System.Collections.Generic.IAsyncEnumerable<string>>;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Contract guarantee 2 for the length-prefixed, varint and text operators and for <see cref="OverflowPolicy.Skip"/>:
/// for random inputs, the same frames and the same error whether the bytes arrive in one chunk, in random chunks (empty
/// ones included), one byte at a time, or as owned memory, pushed or pulled; and the one-chunk result is the naive model's.
/// </summary>
/// <remarks>Each failure prints its seed; to explore further, change <see cref="BaseSeed"/>.</remarks>
public class LengthAndTextChunkInvarianceTest
{
    private const int BaseSeed = 20_250_301;
    private const int Cases = 400;

    private static readonly string[][] SeparatorSets =
    [
        ["\n"], ["\r\n"], ["SEP"], ["aa"], ["aba"], ["\r\n", "\n"], [";", "SEP"], ["ABCD", "BC"],
    ];

    public static IEnumerable<string> Operators =>
        ["LengthPrefixed", "LengthPrefixed+Skip", "VarintPrefixed", "VarintPrefixed+Skip", "Lines+Skip", "Until+Skip", "LinesText", "DecodeText"];

    [TestCaseSource(nameof(Operators))]
    public void ChunkInvariance_SameFramesAndErrors(string op)
    {
        var failures = new List<string>();
        var endings = new HashSet<string>();
        int skipping = 0;
        for (int i = 0; i < Cases && failures.Count < 5; i++)
        {
            int seed = BaseSeed + i;
            var c = Generate(op, new Random(seed));
            var one = Run(c.Op, [B(c.Input)]);
            endings.Add(one.Error?.GetType().Name ?? (one.Frames.Count == 0 ? "empty" : "frames"));
            skipping += c.Skips > 0 ? 1 : 0;

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
            "LengthPrefixed" or "VarintPrefixed" => ["empty", "frames", nameof(LimitOverrunException), nameof(IncompleteReadException), nameof(InvalidDataException)],
            "LengthPrefixed+Skip" or "VarintPrefixed+Skip" => ["empty", "frames", nameof(IncompleteReadException), nameof(InvalidDataException)],
            "Lines+Skip" => ["empty", "frames"],
            "Until+Skip" => ["empty", "frames", nameof(IncompleteReadException)],
            "LinesText" => ["empty", "frames", nameof(LimitOverrunException)],
            _ => ["frames"],
        };
        Assert.That(endings, Is.SupersetOf(expectedEndings), "outcomes the generator reached");
        if (op.EndsWith("+Skip", StringComparison.Ordinal))
        {
            Assert.That(skipping, Is.GreaterThan(Cases / 5), "cases that skip at least one frame");
        }
    }

    [TestCaseSource(nameof(Operators))]
    public void ChunkInvariance_EverySplitPositionOfShortInputs(string op)
    {
        var failures = new List<string>();
        int tested = 0;
        for (int i = 0; i < 300 && failures.Count < 5 && tested < 80; i++)
        {
            int seed = BaseSeed + 100_000 + i;
            var c = Generate(op, new Random(seed));
            if (c.Input.Length > 16)
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

        Assert.That(tested, Is.GreaterThanOrEqualTo(40), "short inputs the generator produced");
    }

    private static IEnumerable<(string Name, Outcome Outcome)> Splits(Case c, Random random)
    {
        var input = Encoding.Latin1.GetBytes(c.Input);
        for (int k = 0; k < 4; k++)
        {
            var cuts = RandomCuts(random, input.Length);
            yield return ($"[{string.Join(",", cuts)}]", Run(c.Op, Cut(input, cuts)));
        }

        yield return ("bytewise", Run(c.Op, Cut(input, [.. Enumerable.Range(1, Math.Max(0, input.Length - 1))])));

        var ownedCuts = RandomCuts(random, input.Length);
        yield return ($"owned-contiguous[{string.Join(",", ownedCuts)}]", Run(c.Op, new OwnedChunkSource(input, ownedCuts, contiguous: true), static () => { }));
        yield return ($"owned-separate[{string.Join(",", ownedCuts)}]", Run(c.Op, new OwnedChunkSource(input, ownedCuts, contiguous: false), static () => { }));

        // Pull: the same cases through the IAsyncEnumerable operators (see ChunkInvarianceTest).
        foreach (var (name, source) in PullSources(input, RandomCuts(random, input.Length)))
        {
            yield return (name, RunPull(c.Pull, source));
        }

        yield return ("pull-bytewise", RunPull(c.Pull, AsyncChunks(Cut(input, [.. Enumerable.Range(1, Math.Max(0, input.Length - 1))]))));
    }

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
            chunks.Add(input.AsSpan(start, end - start).ToArray());
            start = end;
        }

        return chunks;
    }

    private sealed record Case(string Description, string Input, Func<IObservable<ReadOnlyMemory<byte>>, IObservable<string>> Op, Outcome Expected, int Skips = 0)
    {
        /// <summary>The same operator, pull style (<see cref="AsyncFramingExtensions"/>).</summary>
        public required PullOp Pull { get; init; }
    }

    /// <summary>The pull counterpart of <c>ToList().Select(string.Concat)</c>: one string at the end, nothing after an error.</summary>
    private static async IAsyncEnumerable<string> JoinedAsync(IAsyncEnumerable<string> parts)
    {
        var joined = new StringBuilder();
        await foreach (var part in parts)
        {
            joined.Append(part);
        }

        yield return joined.ToString();
    }

    private static Case Generate(string op, Random random)
    {
        bool skip = op.EndsWith("+Skip", StringComparison.Ordinal);
        var policy = skip ? OverflowPolicy.Skip : OverflowPolicy.Fail;
        switch (op)
        {
            case "LengthPrefixed":
            case "LengthPrefixed+Skip":
            {
                var layout = RandomLayout(random);
                var input = LengthInput(random, layout);
                var expected = ReferenceModels.LengthField(input, layout, policy, out int skips);
                return new Case($"LengthPrefixed({Describe(layout)}, {policy})", input, s => s.LengthPrefixed(layout, policy).Select(S), expected, skips) { Pull = p => p.LengthPrefixed(layout, policy).Select(S) };
            }

            case "VarintPrefixed":
            case "VarintPrefixed+Skip":
            {
                int max = random.Next(1, 12);
                var input = VarintInput(random, max);
                var expected = ReferenceModels.Varint(input, max, policy, out int skips);
                return new Case($"VarintPrefixed({max}, {policy})", input, s => s.VarintPrefixed(max, policy).Select(S), expected, skips) { Pull = p => p.VarintPrefixed(max, policy).Select(S) };
            }

            case "Lines+Skip":
            {
                int limit = random.Next(1, 9);
                var input = SeparatedInput(random, ["\n"], limit, "ab\r");
                var expected = ReferenceModels.SeparatedSkip(input, ["\n"], limit, emitPartial: true, out int skips);
                return new Case($"Lines({limit}, Skip)", input, s => s.Lines(limit, OverflowPolicy.Skip).Select(S), expected, skips) { Pull = p => p.Lines(limit, OverflowPolicy.Skip).Select(S) };
            }

            case "Until+Skip":
            {
                int limit = random.Next(1, 9);
                var separators = SeparatorSets[random.Next(SeparatorSets.Length)];
                var input = SeparatedInput(random, separators, limit, "abSEP\r\nBC;");
                var memories = separators.Select(static s => B(s)).ToArray();
                var expected = ReferenceModels.SeparatedSkip(input, separators, limit, emitPartial: false, out int skips);
                return new Case($"Until([{string.Join(",", separators.Select(Show))}], {limit}, Skip)", input, s => s.Until(memories, limit, OverflowPolicy.Skip).Select(S), expected, skips) { Pull = p => p.Until(memories, limit, OverflowPolicy.Skip).Select(S) };
            }

            case "LinesText":
            {
                int limit = random.Next(1, 12);
                var input = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(RandomText(random, random.Next(0, 20), "ab\r\n\n\u00e9\u20ac\U0001F600")));
                var bytes = ReferenceModels.Separated(input, ["\n"], limit, emitPartial: true);
                var expected = bytes with { Frames = [.. bytes.Frames.Select(static f => Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(f.EndsWith('\n') ? f[..^1] : f).AsSpan()).TrimEnd('\r'))] };
                return new Case($"LinesText({limit})", input, s => s.LinesText(limit: limit), expected) { Pull = p => p.LinesText(limit: limit) };
            }

            case "DecodeText":
            {
                var bytes = new List<byte>(Encoding.UTF8.GetBytes(RandomText(random, random.Next(1, 12), "a\u00e9\u20ac\U0001F600")));
                for (int k = random.Next(0, 3); k > 0; k--)
                {
                    byte[] invalid = [0x80, 0xFF, 0xE2, 0xF0, 0xC3];
                    bytes.Insert(random.Next(bytes.Count + 1), invalid[random.Next(invalid.Length)]);
                }

                var input = Encoding.Latin1.GetString([.. bytes]);
                var expected = new Outcome([Encoding.UTF8.GetString([.. bytes])], true, null);
                return new Case("DecodeText(UTF-8), joined", input, static s => s.DecodeText(Encoding.UTF8).ToList().Select(static l => string.Concat(l)), expected)
                {
                    Pull = static p => JoinedAsync(p.DecodeText(Encoding.UTF8)),
                };
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, null);
        }
    }

    private static LengthFieldOptions RandomLayout(Random random)
    {
        int size = new[] { 1, 2, 3, 4, 8 }[random.Next(5)];
        int offset = new[] { 0, 0, 1, 2 }[random.Next(4)];
        int header = offset + size;
        int adjustment = new[] { 0, 0, -size, -header, 1, 2 }[random.Next(6)];
        int max = header + random.Next(0, 10);
        return random.Next(3) switch
        {
            0 => new LengthFieldOptions { LengthFieldOffset = offset, LengthFieldSize = size, BigEndian = random.Next(2) == 0, LengthAdjustment = adjustment, MaxFrameLength = max },
            _ => new LengthFieldOptions { LengthFieldOffset = offset, LengthFieldSize = size, BigEndian = random.Next(2) == 0, LengthAdjustment = adjustment, MaxFrameLength = max, InitialBytesToStrip = random.Next(0, header + 2) },
        };
    }

    private static string Describe(LengthFieldOptions o) =>
        $"offset={o.LengthFieldOffset} size={o.LengthFieldSize} {(o.BigEndian ? "BE" : "LE")} adj={o.LengthAdjustment} strip={o.InitialBytesToStrip} max={o.MaxFrameLength}";

    /// <summary>Frames whose bodies are near the maximum, empty, corrupt (a value that goes negative) or huge; sometimes cut short.</summary>
    private static string LengthInput(Random random, LengthFieldOptions layout)
    {
        var builder = new StringBuilder();
        int header = layout.LengthFieldOffset + layout.LengthFieldSize;
        int maxBody = layout.MaxFrameLength - header;
        ulong fieldMax = layout.LengthFieldSize == 8 ? ulong.MaxValue : (1UL << (8 * layout.LengthFieldSize)) - 1;
        for (int f = random.Next(0, 5); f > 0; f--)
        {
            int roll = random.Next(12);
            long body = roll switch
            {
                0 => -random.Next(1, 3),                      // corrupt when the adjustment allows it
                1 => long.MaxValue,                           // huge
                _ => Math.Max(0, new[] { 0, 1, maxBody - 1, maxBody, maxBody, maxBody + 1, maxBody + 2, random.Next(0, maxBody + 3) }[random.Next(8)]),
            };
            long value = body == long.MaxValue ? (long)Math.Min(fieldMax, long.MaxValue) : Math.Max(0, body - layout.LengthAdjustment);
            if ((ulong)value > fieldMax)
            {
                value = (long)fieldMax;
            }

            builder.Append(RandomText(random, layout.LengthFieldOffset, "xy"));
            builder.Append(LengthPrefixedTest.Field((ulong)value, layout.LengthFieldSize, layout.BigEndian));
            long actualBody = value + layout.LengthAdjustment;
            if (actualBody < 0 || actualBody > 40)
            {
                builder.Append(RandomText(random, random.Next(0, 6), "zq"));
                break;
            }

            builder.Append(RandomText(random, (int)actualBody, "abc"));
        }

        if (builder.Length > 0 && random.Next(5) == 0)
        {
            builder.Length -= random.Next(1, Math.Min(builder.Length, header + 2) + 1);
        }

        return builder.ToString();
    }

    /// <summary>Varint frames near the maximum, non-minimal encodings, malformed and huge varints; sometimes cut short.</summary>
    private static string VarintInput(Random random, int max)
    {
        var builder = new StringBuilder();
        for (int f = random.Next(0, 5); f > 0; f--)
        {
            int roll = random.Next(14);
            if (roll == 0)
            {
                builder.Append(new string('\u0080', random.Next(9, 11))).Append(random.Next(2) == 0 ? '\u0002' : '\u0080'); // malformed
                break;
            }

            ulong value = roll == 1 ? 1UL << random.Next(20, 64) : (ulong)Math.Max(0, new[] { 0, 1, max - 1, max, max, max + 1, max + 2, random.Next(0, max + 3) }[random.Next(8)]);
            string varint = VarintTest.Varint(value);
            if (random.Next(4) == 0 && varint.Length < 10)
            {
                // Non-minimal: continue the last group and add zero groups.
                int extra = random.Next(1, 11 - varint.Length);
                varint = varint[..^1] + (char)(varint[^1] | 0x80) + new string('\u0080', extra - 1) + "\0";
            }

            builder.Append(varint);
            if (value > 40)
            {
                builder.Append(RandomText(random, random.Next(0, 6), "zq"));
                break;
            }

            builder.Append(RandomText(random, (int)value, "ab\u0080"));
        }

        if (builder.Length > 0 && random.Next(5) == 0)
        {
            builder.Length -= random.Next(1, Math.Min(builder.Length, 3) + 1);
        }

        return builder.ToString();
    }

    private static string SeparatedInput(Random random, string[] separators, int limit, string alphabet)
    {
        var builder = new StringBuilder();
        int frames = random.Next(0, 5);
        for (int f = 0; f < frames; f++)
        {
            int[] lengths = [0, 1, limit - 1, limit, limit + 1, limit + 1, limit + 2, limit + 5, random.Next(0, 3 * limit + 3)];
            builder.Append(RandomText(random, Math.Max(0, lengths[random.Next(lengths.Length)]), random.Next(3) == 0 ? alphabet : "ab"));
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

    /// <summary>Random text; a surrogate pair in the alphabet counts as one pick.</summary>
    private static string RandomText(Random random, int length, string alphabet)
    {
        var elements = new List<string>();
        var e = System.Globalization.StringInfo.GetTextElementEnumerator(alphabet);
        while (e.MoveNext())
        {
            elements.Add(e.GetTextElement());
        }

        var builder = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            builder.Append(elements[random.Next(elements.Count)]);
        }

        return builder.ToString();
    }
}
