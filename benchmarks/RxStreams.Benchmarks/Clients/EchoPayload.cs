namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// The bytes the clients send, and the check that what came back is those bytes in order.
/// Every line is the same 64 bytes (63 printable payload bytes and '\n'), so a run of echoed lines is the
/// line repeated, and a run of echoed bulk data is the bulk pattern repeated: both are checked the same way.
/// </summary>
internal static class EchoPayload
{
    public const int LineLength = 64;

    /// <summary>One line: 63 bytes cycling through 'A'..'Z', then '\n'.</summary>
    public static ReadOnlySpan<byte> Line => LineBytes;

    private static readonly byte[] LineBytes = CreateLine();

    private static byte[] CreateLine()
    {
        var line = new byte[LineLength];
        for (var i = 0; i < LineLength - 1; i++)
        {
            line[i] = (byte)('A' + (i % 26));
        }

        line[^1] = (byte)'\n';
        return line;
    }

    /// <summary>A buffer of <paramref name="count"/> consecutive lines, sent as one block when pipelining.</summary>
    public static byte[] Lines(int count)
    {
        var block = new byte[count * LineLength];
        for (var i = 0; i < count; i++)
        {
            LineBytes.CopyTo(block, i * LineLength);
        }

        return block;
    }

    /// <summary>
    /// <paramref name="count"/> lines of <paramref name="lineLength"/> bytes each, '\n' included: printable bytes
    /// that shift by one letter per line, so a reordered line fails verification.
    /// </summary>
    public static byte[] LongLines(int lineLength, int count)
    {
        var block = new byte[lineLength * count];
        for (var line = 0; line < count; line++)
        {
            var bytes = block.AsSpan(line * lineLength, lineLength);
            for (var i = 0; i < lineLength - 1; i++)
            {
                bytes[i] = (byte)('A' + ((line + i) % 26));
            }

            bytes[^1] = (byte)'\n';
        }

        return block;
    }

    /// <summary>
    /// A bulk send buffer of pseudo-random bytes (a fixed xorshift sequence, so runs are comparable).
    /// Random rather than constant data means a reordered or duplicated chunk would fail verification.
    /// </summary>
    public static byte[] BulkPattern(int length)
    {
        var pattern = new byte[length];
        var state = 0x2545F491u;
        for (var i = 0; i < length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            pattern[i] = (byte)state;
        }

        return pattern;
    }

    /// <summary>
    /// Checks that <paramref name="received"/> continues an endless repetition of <paramref name="pattern"/>
    /// starting at offset <paramref name="phase"/> into it, and advances the phase.
    /// </summary>
    public static bool ContinuesRepetition(ReadOnlySpan<byte> received, ReadOnlySpan<byte> pattern, ref int phase)
    {
        while (!received.IsEmpty)
        {
            var n = Math.Min(received.Length, pattern.Length - phase);
            if (!received[..n].SequenceEqual(pattern.Slice(phase, n)))
            {
                return false;
            }

            received = received[n..];
            phase = (phase + n) % pattern.Length;
        }

        return true;
    }
}
