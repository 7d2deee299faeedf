using RxStreams.Framing;

namespace RxStreams.Decoders;

/// <summary>
/// Frames that end with one of several separators, separator included: asyncio's <c>readuntil</c> (and, with
/// <see cref="AtEnd.EmitPartial"/>, <c>readline</c>), with its exact limit arithmetic.
/// </summary>
/// <remarks>
/// <para>
/// The search resumes where the previous one could not have matched (<c>bufferLength + 1 - longestSeparator</c>), so a
/// separator split over many chunks is searched once (asyncio re-scans the whole buffer every time). Among several
/// separators the match that ends first wins; on a tie the shortest (Python 3.13's tuple rule).
/// </para>
/// <para>
/// Limit: <c>LimitOverrunException</c> when the separator starts beyond <c>limit</c> ("found, but chunk is longer than
/// limit", consumed = its start), or when it is not found and the search position passes <c>limit</c> ("not found, and
/// chunk exceed the limit", consumed = that position). A frame of exactly <c>limit</c> bytes plus separator is accepted.
/// </para>
/// <para>
/// Under <see cref="OverflowPolicy.Skip"/> the same two conditions drop the frame instead: a complete over-long frame is
/// skipped at once; an unfinished one switches to discarding, which drops every byte that cannot be part of a separator
/// (all but the last <c>longestSeparator - 1</c>) as it arrives, until a separator ends the frame. Dropped bytes leave as
/// <see cref="SkippedFrames.Marker"/> frames. The end of the stream while discarding is a clean end.
/// </para>
/// </remarks>
internal sealed class SeparatorDecoder : IFrameDecoder<ReadOnlyMemory<byte>>
{
    /// <summary>What happens to bytes left over at the end of the stream.</summary>
    public enum AtEnd
    {
        /// <summary><c>readuntil</c>: they are an incomplete frame (<see cref="IncompleteReadException"/>).</summary>
        Throw,

        /// <summary><c>readline</c>: they are the last line, without its separator.</summary>
        EmitPartial,
    }

    private readonly byte[][] _separators; // sorted by length, shortest first
    private readonly int _minLength;
    private readonly int _maxLength;
    private readonly int _limit;
    private readonly AtEnd _atEnd;
    private readonly OverflowPolicy _overflow;
    private bool _discarding; // skipping an over-long frame whose separator has not arrived yet
    private int _offset; // where the next search starts; valid while the buffer start does not move

    public SeparatorDecoder(byte[][] separatorsByLength, int limit, AtEnd atEnd, OverflowPolicy overflow = OverflowPolicy.Fail)
    {
        _separators = separatorsByLength;
        _minLength = separatorsByLength[0].Length;
        _maxLength = separatorsByLength[^1].Length;
        _limit = limit;
        _atEnd = atEnd;
        _overflow = overflow;
    }

    /// <summary>A decoder for <c>\n</c>-terminated lines.</summary>
    public static SeparatorDecoder ForLines(int limit, AtEnd atEnd, OverflowPolicy overflow = OverflowPolicy.Fail) => new(LineSeparators, limit, atEnd, overflow);

    internal static readonly byte[] NewLine = [(byte)'\n'];

    private static readonly byte[][] LineSeparators = [NewLine];

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        var span = buffer.Span;
        if (span.Length - _offset >= _minLength)
        {
            int matchEnd = FindEarliestEnd(span, _offset, out int matchStart);
            if (matchEnd >= 0)
            {
                _offset = 0;
                if (_discarding)
                {
                    _discarding = false;
                    return SkippedFrames.Skip(matchEnd, out frame, out consumed);
                }

                if (matchStart > _limit)
                {
                    Internal.Metrics.LimitOverrun();
                    if (_overflow == OverflowPolicy.Skip)
                    {
                        return SkippedFrames.Skip(matchEnd, out frame, out consumed);
                    }

                    throw new LimitOverrunException("Separator is found, but chunk is longer than limit", matchStart);
                }

                frame = buffer[..matchEnd];
                consumed = matchEnd;
                return true;
            }

            _offset = Math.Max(0, span.Length + 1 - _maxLength);
            if (_discarding || _offset > _limit)
            {
                if (!_discarding)
                {
                    Internal.Metrics.LimitOverrun();
                }

                if (_overflow == OverflowPolicy.Fail)
                {
                    throw new LimitOverrunException("Separator is not found, and chunk exceed the limit", _offset);
                }

                // Drop what can no longer be part of a separator; keep the rest for the next search.
                _discarding = true;
                int drop = _offset;
                _offset = 0;
                if (drop > 0)
                {
                    return SkippedFrames.Skip(drop, out frame, out consumed);
                }
            }
        }

        frame = default;
        consumed = 0;
        return false;
    }

    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        _offset = 0;
        if (_discarding)
        {
            // The input ended inside a frame being skipped: it was dropped already, so this is a clean end.
            _discarding = false;
            frame = default;
            consumed = 0;
            return false;
        }

        if (buffer.IsEmpty)
        {
            frame = default;
            consumed = 0;
            return false;
        }

        if (_atEnd == AtEnd.Throw)
        {
            throw new IncompleteReadException(buffer, expected: null);
        }

        frame = buffer;
        consumed = buffer.Length;
        return true;
    }

    /// <summary>Resets the scan position: the buffer was consumed by someone else (the pull methods mix decoders).</summary>
    public void Reset()
    {
        _offset = 0;
        _discarding = false;
    }

    private int FindEarliestEnd(ReadOnlySpan<byte> span, int offset, out int matchStart)
    {
        var tail = span[offset..];
        if (_separators.Length == 1)
        {
            var separator = _separators[0];
            int index = separator.Length == 1 ? tail.IndexOf(separator[0]) : IndexOfMultiByte(tail, separator);
            matchStart = offset + index;
            return index < 0 ? -1 : matchStart + separator.Length;
        }

        int bestEnd = -1;
        matchStart = -1;
        foreach (var separator in _separators)
        {
            int index = tail.IndexOf(separator);
            if (index >= 0 && (bestEnd < 0 || offset + index + separator.Length < bestEnd))
            {
                matchStart = offset + index;
                bestEnd = matchStart + separator.Length;
            }
        }

        return bestEnd;
    }

    /// <summary>
    /// A multi-byte separator: the vectorised single-byte search for its first byte, then a compare of the rest. For
    /// separators like <c>\r\n</c>, whose first byte is rare in the data, this beats the general substring search
    /// (measured 1.3-1.5x slower than a <c>SequenceReader</c> parser with it, on 1 KiB frames).
    /// </summary>
    private static int IndexOfMultiByte(ReadOnlySpan<byte> span, ReadOnlySpan<byte> separator)
    {
        byte first = separator[0];
        var rest = separator[1..];
        int searched = 0;
        while (true)
        {
            int found = span[searched..].IndexOf(first);
            if (found < 0)
            {
                return -1;
            }

            int start = searched + found;
            if (span[(start + 1)..].StartsWith(rest))
            {
                return start;
            }

            if (start + separator.Length > span.Length)
            {
                return -1; // a partial match at the end: not a match yet (the next search starts early enough to see it)
            }

            searched = start + 1;
        }
    }
}
