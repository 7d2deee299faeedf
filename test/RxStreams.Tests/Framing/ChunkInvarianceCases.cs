using System.Reactive.Linq;
using System.Text;
using RxStreams.Framing;
using static RxStreams.Tests.Framing.FramingTestKit;
using PullOp = System.Func<System.Collections.Generic.IAsyncEnumerable<System.ReadOnlyMemory<byte>>, System.Collections.Generic.IAsyncEnumerable<string>>;
using PushOp = System.Func<System.IObservable<System.ReadOnlyMemory<byte>>, System.IObservable<string>>;

namespace RxStreams.Tests.Framing;

/// <summary>
/// The cases of <see cref="ChunkInvarianceTest"/>, every framer in one place: for an operator name and a seeded
/// <see cref="Random"/>, an input, the operator push and pull, and the naive model's answer for the input in one chunk.
/// </summary>
/// <remarks>
/// Two families of seeds: the byte framers (lines, until, exactly, chunks, to-end, decode) and the length-prefixed,
/// varint, text and skipping framers; each family keeps the seeds and draws it had, so its inputs stay the same.
/// </remarks>
internal static class ChunkInvarianceCases
{
    /// <summary>Every framer, with <see cref="OverflowPolicy.Skip"/> variants where it applies.</summary>
    public static readonly string[] Operators =
    [
        "Lines", "Until", "Exactly", "Chunks", "ToEnd", "Decode",
        "LengthPrefixed", "LengthPrefixed+Skip", "VarintPrefixed", "VarintPrefixed+Skip", "Lines+Skip", "Until+Skip", "LinesText", "DecodeText",
    ];

    /// <summary>Separator sets for Until: single, multi-byte, self-overlapping, and several (ties, earliest end).</summary>
    private static readonly string[][] SeparatorSets =
    [
        ["\n"], ["\r\n"], ["SEP"], ["aa"], ["aba"], ["\r\n", "\n"], [";", "SEP"], ["ABCD", "BC"], ["\n", "\r\n", "SEP"],
    ];

    /// <summary>The Skip cases draw from the first eight separator sets (their seeds were chosen with those).</summary>
    private const int SkipSeparatorSets = 8;

    private static readonly Family ByteFramers = new(BaseSeed: 20_240_611, ShortAttempts: 150, ShortLength: 14, ShortCap: int.MaxValue, ShortMinimum: 60);

    private static readonly Family LengthAndTextFramers = new(BaseSeed: 20_250_301, ShortAttempts: 300, ShortLength: 16, ShortCap: 80, ShortMinimum: 40);

    /// <summary>The seeds of an operator's cases and how its exhaustive short-input property samples them.</summary>
    /// <param name="BaseSeed">Case i uses seed BaseSeed + i (short inputs: BaseSeed + 100 000 + i).</param>
    /// <param name="ShortAttempts">Seeds tried for short inputs.</param>
    /// <param name="ShortLength">The longest input cut every way.</param>
    /// <param name="ShortCap">Stop after this many short inputs.</param>
    /// <param name="ShortMinimum">Short inputs the generator must produce.</param>
    public sealed record Family(int BaseSeed, int ShortAttempts, int ShortLength, int ShortCap, int ShortMinimum);

    /// <summary>One generated case.</summary>
    public sealed record Case(string Description, string Input, PushOp Op, Outcome Expected)
    {
        /// <summary>The same operator, pull style (<see cref="AsyncFramingExtensions"/>).</summary>
        public required PullOp Pull { get; init; }

        /// <summary>The smallest Consumed an overrun may report: the first byte count that proves it.</summary>
        public long MinConsumed { get; init; }

        /// <summary>Frames the model skipped (<see cref="OverflowPolicy.Skip"/>).</summary>
        public int Skips { get; init; }
    }

    public static Family FamilyOf(string op) => op is "Lines" or "Until" or "Exactly" or "Chunks" or "ToEnd" or "Decode" ? ByteFramers : LengthAndTextFramers;

    /// <summary>The endings (no frames, frames, an error type) the generator must reach for <paramref name="op"/>.</summary>
    public static string[] Endings(string op) => op switch
    {
        "Lines" or "LinesText" => ["empty", "frames", nameof(LimitOverrunException)],
        "Until" => ["empty", "frames", nameof(LimitOverrunException), nameof(IncompleteReadException)],
        "ToEnd" => ["frames", nameof(LimitOverrunException)],
        "Chunks" or "Lines+Skip" => ["empty", "frames"],
        "Exactly" or "Decode" or "Until+Skip" => ["empty", "frames", nameof(IncompleteReadException)],
        "LengthPrefixed" or "VarintPrefixed" => ["empty", "frames", nameof(LimitOverrunException), nameof(IncompleteReadException), nameof(InvalidDataException)],
        "LengthPrefixed+Skip" or "VarintPrefixed+Skip" => ["empty", "frames", nameof(IncompleteReadException), nameof(InvalidDataException)],
        "DecodeText" => ["frames"],
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    public static Case Generate(string op, Random random)
    {
        var policy = op.EndsWith("+Skip", StringComparison.Ordinal) ? OverflowPolicy.Skip : OverflowPolicy.Fail;
        switch (op)
        {
            case "Lines":
            {
                int limit = random.Next(1, 9);
                var input = SeparatedInput(random, ["\n"], limit, Chars("ab\r"), pastLimit: false);
                return new Case($"Lines({limit})", input, s => s.Lines(limit).Select(S), ReferenceModels.Separated(input, ["\n"], limit, emitPartial: true))
                {
                    MinConsumed = limit + 1,
                    Pull = p => p.Lines(limit).Select(S),
                };
            }

            case "Until":
            {
                int limit = random.Next(1, 9);
                var separators = SeparatorSets[random.Next(SeparatorSets.Length)];
                var input = SeparatedInput(random, separators, limit, Chars("abSEP\r\nBC;"), pastLimit: false);
                var memories = separators.Select(static s => B(s)).ToArray();
                bool single = separators.Length == 1 && random.Next(2) == 0;
                PushOp framer = single ? s => s.Until(memories[0], limit).Select(S) : s => s.Until(memories, limit).Select(S);
                PullOp pullFramer = single ? p => p.Until(memories[0], limit).Select(S) : p => p.Until(memories, limit).Select(S);
                return new Case($"Until([{string.Join(",", separators.Select(Show))}], {limit})", input, framer, ReferenceModels.Separated(input, separators, limit, emitPartial: false))
                {
                    MinConsumed = limit + 1,
                    Pull = pullFramer,
                };
            }

            case "Exactly":
            case "Chunks":
            {
                int length = random.Next(1, 7);
                var input = RandomText(random, random.Next(0, 5) * length + random.Next(-1, 2), Chars("abc"));
                bool chunks = op == "Chunks";
                return new Case($"{op}({length})", input, chunks ? s => s.Chunks(length).Select(S) : s => s.Exactly(length).Select(S), ReferenceModels.Fixed(input, length, chunks))
                {
                    Pull = chunks ? p => p.Chunks(length).Select(S) : p => p.Exactly(length).Select(S),
                };
            }

            case "ToEnd":
            {
                int limit = random.Next(0, 10);
                var input = RandomText(random, Math.Max(0, limit + random.Next(-3, 3)), Chars("abc\n"));
                return new Case($"ToEnd({limit})", input, s => s.ToEnd(limit).Select(S), ReferenceModels.ToEnd(input, limit))
                {
                    MinConsumed = limit,
                    Pull = p => p.ToEnd(limit).Select(S),
                };
            }

            case "Decode":
            {
                var builder = new StringBuilder();
                int frames = random.Next(0, 6);
                for (int f = 0; f < frames; f++)
                {
                    int length = random.Next(0, 5);
                    builder.Append((char)length).Append(RandomText(random, length, Chars("xyz\u0001")));
                }

                if (random.Next(3) == 0)
                {
                    builder.Append((char)random.Next(1, 6)).Append(RandomText(random, random.Next(0, 1), Chars("xyz")));
                }

                var input = builder.ToString();
                return new Case("Decode(length-prefixed)", input, static s => s.Decode(static () => new LengthPrefixedStringDecoder()), ReferenceModels.LengthPrefixed(input))
                {
                    Pull = static p => p.Decode(static () => new LengthPrefixedStringDecoder()),
                };
            }

            case "LengthPrefixed":
            case "LengthPrefixed+Skip":
            {
                var layout = RandomLayout(random);
                var input = LengthInput(random, layout);
                var expected = ReferenceModels.LengthField(input, layout, policy, out int skips);
                return new Case($"LengthPrefixed({Describe(layout)}, {policy})", input, s => s.LengthPrefixed(layout, policy).Select(S), expected)
                {
                    Skips = skips,
                    Pull = p => p.LengthPrefixed(layout, policy).Select(S),
                };
            }

            case "VarintPrefixed":
            case "VarintPrefixed+Skip":
            {
                int max = random.Next(1, 12);
                var input = VarintInput(random, max);
                var expected = ReferenceModels.Varint(input, max, policy, out int skips);
                return new Case($"VarintPrefixed({max}, {policy})", input, s => s.VarintPrefixed(max, policy).Select(S), expected)
                {
                    Skips = skips,
                    Pull = p => p.VarintPrefixed(max, policy).Select(S),
                };
            }

            case "Lines+Skip":
            {
                int limit = random.Next(1, 9);
                var input = SeparatedInput(random, ["\n"], limit, TextElements("ab\r"), pastLimit: true);
                var expected = ReferenceModels.SeparatedSkip(input, ["\n"], limit, emitPartial: true, out int skips);
                return new Case($"Lines({limit}, Skip)", input, s => s.Lines(limit, OverflowPolicy.Skip).Select(S), expected)
                {
                    Skips = skips,
                    Pull = p => p.Lines(limit, OverflowPolicy.Skip).Select(S),
                };
            }

            case "Until+Skip":
            {
                int limit = random.Next(1, 9);
                var separators = SeparatorSets[random.Next(SkipSeparatorSets)];
                var input = SeparatedInput(random, separators, limit, TextElements("abSEP\r\nBC;"), pastLimit: true);
                var memories = separators.Select(static s => B(s)).ToArray();
                var expected = ReferenceModels.SeparatedSkip(input, separators, limit, emitPartial: false, out int skips);
                return new Case($"Until([{string.Join(",", separators.Select(Show))}], {limit}, Skip)", input, s => s.Until(memories, limit, OverflowPolicy.Skip).Select(S), expected)
                {
                    Skips = skips,
                    Pull = p => p.Until(memories, limit, OverflowPolicy.Skip).Select(S),
                };
            }

            case "LinesText":
            {
                int limit = random.Next(1, 12);
                var input = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(RandomText(random, random.Next(0, 20), TextElements("ab\r\n\n\u00e9\u20ac\U0001F600"))));
                var bytes = ReferenceModels.Separated(input, ["\n"], limit, emitPartial: true);
                var expected = bytes with { Frames = [.. bytes.Frames.Select(static f => Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(f.EndsWith('\n') ? f[..^1] : f).AsSpan()).TrimEnd('\r'))] };
                return new Case($"LinesText({limit})", input, s => s.LinesText(limit: limit), expected) { Pull = p => p.LinesText(limit: limit) };
            }

            case "DecodeText":
            {
                var bytes = new List<byte>(Encoding.UTF8.GetBytes(RandomText(random, random.Next(1, 12), TextElements("a\u00e9\u20ac\U0001F600"))));
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

    /// <summary>
    /// Frames whose bodies are close to the limit (L-1, L, L+1, L+2) or random, mostly ended by one of the separators,
    /// sometimes by a separator's prefix; bodies draw from <paramref name="alphabet"/>, which includes separator bytes.
    /// <paramref name="pastLimit"/> reaches further past the limit (L+5, up to 3L), so that Skip has frames to skip.
    /// </summary>
    private static string SeparatedInput(Random random, string[] separators, int limit, string[] alphabet, bool pastLimit)
    {
        var builder = new StringBuilder();
        int frames = random.Next(0, 5);
        for (int f = 0; f < frames; f++)
        {
            int[] lengths = pastLimit
                ? [0, 1, limit - 1, limit, limit + 1, limit + 1, limit + 2, limit + 5, random.Next(0, 3 * limit + 3)]
                : [0, 1, limit - 1, limit, limit, limit + 1, limit + 1, limit + 2, random.Next(0, 2 * limit + 3)];
            int length = Math.Max(0, lengths[random.Next(lengths.Length)]);
            builder.Append(RandomText(random, length, random.Next(3) == 0 ? alphabet : Chars("ab")));
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

            builder.Append(RandomText(random, layout.LengthFieldOffset, Chars("xy")));
            builder.Append(LengthPrefixedTest.Field((ulong)value, layout.LengthFieldSize, layout.BigEndian));
            long actualBody = value + layout.LengthAdjustment;
            if (actualBody < 0 || actualBody > 40)
            {
                builder.Append(RandomText(random, random.Next(0, 6), Chars("zq")));
                break;
            }

            builder.Append(RandomText(random, (int)actualBody, Chars("abc")));
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
                builder.Append(RandomText(random, random.Next(0, 6), Chars("zq")));
                break;
            }

            builder.Append(RandomText(random, (int)value, Chars("ab\u0080")));
        }

        if (builder.Length > 0 && random.Next(5) == 0)
        {
            builder.Length -= random.Next(1, Math.Min(builder.Length, 3) + 1);
        }

        return builder.ToString();
    }

    /// <summary>Every character its own pick: a lone <c>\r</c> or <c>\n</c> can come up.</summary>
    private static string[] Chars(string alphabet) => [.. alphabet.Select(static c => c.ToString())];

    /// <summary>Text elements as picks: <c>\r\n</c> and a surrogate pair each count as one.</summary>
    private static string[] TextElements(string alphabet)
    {
        var elements = new List<string>();
        var e = System.Globalization.StringInfo.GetTextElementEnumerator(alphabet);
        while (e.MoveNext())
        {
            elements.Add(e.GetTextElement());
        }

        return [.. elements];
    }

    private static string RandomText(Random random, int length, string[] alphabet)
    {
        var builder = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            builder.Append(alphabet[random.Next(alphabet.Length)]);
        }

        return builder.ToString();
    }
}
