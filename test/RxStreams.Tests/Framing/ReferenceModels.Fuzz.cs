using RxStreams.Framing;

namespace RxStreams.Tests.Framing;

/// <summary>
/// Naive models for the fuzzing of issue 7: length-field and varint frames (both overflow policies) and separated frames
/// under <see cref="OverflowPolicy.Skip"/>, each over the whole input in one buffer, written from the documented rules
/// rather than from the decoders.
/// </summary>
internal static partial class ReferenceModels
{
    /// <summary>Netty's <c>LengthFieldBasedFrameDecoder</c> as <see cref="LengthFieldOptions"/> documents it.</summary>
    public static Outcome LengthField(string input, LengthFieldOptions options, OverflowPolicy overflow) =>
        LengthField(input, options, overflow, out _);

    /// <inheritdoc cref="LengthField(string, LengthFieldOptions, OverflowPolicy)"/>
    /// <param name="skips">How many over-long frames <see cref="OverflowPolicy.Skip"/> dropped.</param>
    public static Outcome LengthField(string input, LengthFieldOptions options, OverflowPolicy overflow, out int skips)
    {
        var frames = new List<string>();
        skips = 0;
        int header = options.LengthFieldOffset + options.LengthFieldSize;
        long pos = 0;
        while (pos < input.Length)
        {
            string rest = input[(int)pos..];
            if (rest.Length < header)
            {
                return new Outcome(frames, false, new IncompleteReadException(FramingTestKit.B(rest), null));
            }

            ulong value = 0;
            for (int i = 0; i < options.LengthFieldSize; i++)
            {
                int at = options.LengthFieldOffset + (options.BigEndian ? i : options.LengthFieldSize - 1 - i);
                value = (value << 8) | rest[at];
            }

            Int128 body = (Int128)value + options.LengthAdjustment;
            if (body < 0)
            {
                return new Outcome(frames, false, new InvalidDataException("negative body"));
            }

            Int128 frameLength = body + header;
            if (frameLength > Math.Min(options.MaxFrameLength, Array.MaxLength)) // no buffer holds more than Array.MaxLength
            {
                if (overflow == OverflowPolicy.Fail)
                {
                    return new Outcome(frames, false, new LimitOverrunException("too long", (long)Int128.Min(frameLength, long.MaxValue)));
                }

                skips++;
                if (frameLength >= rest.Length)
                {
                    return new Outcome(frames, true, null); // the input ends inside the skipped frame: a clean end
                }

                pos += (long)frameLength;
                continue;
            }

            if (options.InitialBytesToStrip > frameLength)
            {
                return new Outcome(frames, false, new InvalidDataException("strip beyond the frame"));
            }

            if (rest.Length < frameLength)
            {
                return new Outcome(frames, false, new IncompleteReadException(FramingTestKit.B(rest), (long)frameLength));
            }

            frames.Add(rest[options.InitialBytesToStrip..(int)frameLength]);
            pos += (long)frameLength;
        }

        return new Outcome(frames, true, null);
    }

    /// <summary>Protobuf's delimited format: a base-128 varint payload length (at most 10 bytes, 64 bits), then the payload.</summary>
    public static Outcome Varint(string input, int maxFrameLength, OverflowPolicy overflow) =>
        Varint(input, maxFrameLength, overflow, out _);

    /// <inheritdoc cref="Varint(string, int, OverflowPolicy)"/>
    /// <param name="skips">How many over-long frames <see cref="OverflowPolicy.Skip"/> dropped.</param>
    public static Outcome Varint(string input, int maxFrameLength, OverflowPolicy overflow, out int skips)
    {
        var frames = new List<string>();
        skips = 0;
        long pos = 0;
        while (pos < input.Length)
        {
            string rest = input[(int)pos..];
            ulong value = 0;
            int headerLength = 0;
            for (int i = 0; i < Math.Min(rest.Length, 10); i++)
            {
                int b = rest[i];
                if (i == 9 && b > 1)
                {
                    return new Outcome(frames, false, new InvalidDataException("bad varint"));
                }

                value |= (ulong)(b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0)
                {
                    headerLength = i + 1;
                    break;
                }
            }

            if (headerLength == 0)
            {
                return new Outcome(frames, false, new IncompleteReadException(FramingTestKit.B(rest), null));
            }

            Int128 frameLength = (Int128)value + headerLength;
            if (value > (ulong)maxFrameLength || frameLength > Array.MaxLength)
            {
                if (overflow == OverflowPolicy.Fail)
                {
                    return new Outcome(frames, false, new LimitOverrunException("too long", (long)Int128.Min(frameLength, long.MaxValue)));
                }

                skips++;
                if (frameLength >= rest.Length)
                {
                    return new Outcome(frames, true, null);
                }

                pos += (long)frameLength;
                continue;
            }

            if (rest.Length < frameLength)
            {
                return new Outcome(frames, false, new IncompleteReadException(FramingTestKit.B(rest), (long)frameLength));
            }

            frames.Add(rest[headerLength..(int)frameLength]);
            pos += (long)frameLength;
        }

        return new Outcome(frames, true, null);
    }

    /// <summary>
    /// Separated frames under <see cref="OverflowPolicy.Skip"/>: a frame whose separator starts beyond the limit is
    /// dropped through its separator; an unterminated rest too long to fit (search position past the limit) is dropped
    /// and the stream ends cleanly; otherwise the rest is the last line (<paramref name="emitPartial"/>) or incomplete.
    /// </summary>
    public static Outcome SeparatedSkip(string input, IReadOnlyList<string> separators, int limit, bool emitPartial) =>
        SeparatedSkip(input, separators, limit, emitPartial, out _);

    /// <inheritdoc cref="SeparatedSkip(string, IReadOnlyList{string}, int, bool)"/>
    /// <param name="skips">How many over-long frames were dropped, the one cut by the end included.</param>
    public static Outcome SeparatedSkip(string input, IReadOnlyList<string> separators, int limit, bool emitPartial, out int skips)
    {
        var frames = new List<string>();
        skips = 0;
        int maxLength = separators.Max(static s => s.Length);
        string rest = input;
        while (true)
        {
            var (bestStart, bestEnd) = EarliestSeparator(rest, separators);
            if (bestEnd >= 0)
            {
                if (bestStart <= limit)
                {
                    frames.Add(rest[..bestEnd]);
                }
                else
                {
                    skips++;
                }

                rest = rest[bestEnd..];
                continue;
            }

            if (rest.Length + 1 - maxLength > limit)
            {
                skips++; // an over-long frame cut by the end: dropped
                return new Outcome(frames, true, null);
            }

            return Unterminated(frames, rest, emitPartial);
        }
    }
}
