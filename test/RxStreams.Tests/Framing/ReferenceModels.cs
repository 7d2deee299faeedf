namespace RxStreams.Tests.Framing;

/// <summary>
/// Naive models of the framers, written from asyncio's rules (reference section 1.5) with the whole input in one buffer.
/// Strings are Latin-1, one char per byte.
/// </summary>
internal static partial class ReferenceModels
{
    /// <summary>readuntil (or, with <paramref name="emitPartial"/>, readline) applied until the end of the input.</summary>
    public static Outcome Separated(string input, IReadOnlyList<string> separators, int limit, bool emitPartial)
    {
        var frames = new List<string>();
        int maxLength = separators.Max(static s => s.Length);
        string rest = input;
        while (true)
        {
            var (bestStart, bestEnd) = EarliestSeparator(rest, separators);
            if (bestEnd >= 0)
            {
                if (bestStart > limit)
                {
                    return new Outcome(frames, false, new LimitOverrunException("Separator is found, but chunk is longer than limit", bestStart));
                }

                frames.Add(rest[..bestEnd]);
                rest = rest[bestEnd..];
                continue;
            }

            int offset = Math.Max(0, rest.Length + 1 - maxLength);
            if (offset > limit)
            {
                return new Outcome(frames, false, new LimitOverrunException("Separator is not found, and chunk exceed the limit", offset));
            }

            return Unterminated(frames, rest, emitPartial);
        }
    }

    /// <summary>readexactly(n) until the end, or (with <paramref name="allowShortLast"/>) fixed chunks.</summary>
    public static Outcome Fixed(string input, int length, bool allowShortLast)
    {
        var frames = new List<string>();
        int pos = 0;
        for (; pos + length <= input.Length; pos += length)
        {
            frames.Add(input.Substring(pos, length));
        }

        if (pos == input.Length)
        {
            return new Outcome(frames, true, null);
        }

        if (allowShortLast)
        {
            frames.Add(input[pos..]);
            return new Outcome(frames, true, null);
        }

        return new Outcome(frames, false, new IncompleteReadException(FramingTestKit.B(input[pos..]), length));
    }

    /// <summary>read(-1) with a cap.</summary>
    public static Outcome ToEnd(string input, int limit) =>
        input.Length > limit
            ? new Outcome([], false, new LimitOverrunException("The stream is longer than the limit", limit))
            : new Outcome([input], true, null);

    /// <summary>The length-prefixed decoder of <see cref="LengthPrefixedStringDecoder"/>.</summary>
    public static Outcome LengthPrefixed(string input)
    {
        var frames = new List<string>();
        int pos = 0;
        while (pos < input.Length)
        {
            int length = input[pos];
            if (pos + 1 + length > input.Length)
            {
                return new Outcome(frames, false, new IncompleteReadException(FramingTestKit.B(input[pos..]), 1 + length));
            }

            frames.Add(input.Substring(pos + 1, length));
            pos += 1 + length;
        }

        return new Outcome(frames, true, null);
    }

    /// <summary>
    /// Where the first frame of <paramref name="text"/> ends: the earliest separator end wins and, on a tie, the shortest
    /// separator (which starts later). (-1, -1) when no separator occurs.
    /// </summary>
    public static (int Start, int End) EarliestSeparator(string text, IReadOnlyList<string> separators)
    {
        int bestEnd = -1, bestStart = -1, bestLength = int.MaxValue;
        foreach (var separator in separators)
        {
            int start = text.IndexOf(separator, StringComparison.Ordinal);
            if (start < 0)
            {
                continue;
            }

            int end = start + separator.Length;
            if (bestEnd < 0 || end < bestEnd || (end == bestEnd && separator.Length < bestLength))
            {
                (bestEnd, bestStart, bestLength) = (end, start, separator.Length);
            }
        }

        return (bestStart, bestEnd);
    }

    /// <summary>
    /// The end of separated input with no separator left in <paramref name="rest"/> (and within the limit): a clean end
    /// when nothing is left, else the last line (readline) or an <see cref="IncompleteReadException"/> (readuntil).
    /// </summary>
    private static Outcome Unterminated(List<string> frames, string rest, bool emitPartial)
    {
        if (rest.Length == 0)
        {
            return new Outcome(frames, true, null);
        }

        if (emitPartial)
        {
            frames.Add(rest);
            return new Outcome(frames, true, null);
        }

        return new Outcome(frames, false, new IncompleteReadException(FramingTestKit.B(rest), null));
    }
}
