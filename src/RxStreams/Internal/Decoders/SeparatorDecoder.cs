using System.Runtime.CompilerServices;
using RxStreams.Framing;
using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>
/// Frames that end with one of several separators, separator included: asyncio's <c>readuntil</c> (and, ending with
/// <c>\n</c> and a partial last line, <c>readline</c> and <c>Lines()</c>), with its exact limit arithmetic.
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
/// What an over-long frame does (<see cref="OnOverrun"/>): <see cref="OnOverrun.Fail"/> throws, and keeps every byte
/// buffered (asyncio's <c>readuntil</c>: <c>Consumed</c> tells the caller how much to skip). <see cref="OnOverrun.Skip"/>
/// drops the frame instead: a complete over-long frame at once; an unfinished one switches to discarding, which drops
/// every byte that cannot be part of a separator (all but the last <c>longestSeparator - 1</c>) as it arrives, until a
/// separator ends the frame; the end of the input while discarding is a clean end. <see cref="OnOverrun.Resync"/> is
/// asyncio's <c>readline</c>: it drops the frame through its separator if it has arrived, else everything buffered, and
/// the next call throws the <see cref="LimitOverrunException"/> that <see cref="OnOverrun.Fail"/> would have; whatever
/// of the line arrives later is decoded as a new frame.
/// </para>
/// </remarks>
internal sealed class SeparatorDecoder : FrameDecoder<ReadOnlyMemory<byte>>
{
    /// <summary>What happens to bytes left over at the end of the stream.</summary>
    public enum AtEnd
    {
        /// <summary><c>readuntil</c>: they are an incomplete frame (the driver raises <see cref="IncompleteReadException"/>).</summary>
        Throw,

        /// <summary><c>Lines()</c>: they are the last line, without its separator.</summary>
        EmitPartial,

        /// <summary><c>readline</c>: they are the last line, without its separator, and nothing left is an empty line (asyncio's <c>b''</c> at EOF).</summary>
        EmitPartialOrEmpty,
    }

    /// <summary>What a frame over the limit does.</summary>
    public enum OnOverrun
    {
        /// <summary>Throws <see cref="LimitOverrunException"/>; the bytes stay buffered.</summary>
        Fail,

        /// <summary>Drops the frame through its separator, however long, and goes on (<see cref="OverflowPolicy.Skip"/>).</summary>
        Skip,

        /// <summary>Drops the frame through its separator if it is buffered, else everything buffered, then throws (asyncio's <c>readline</c>).</summary>
        Resync,
    }

    private readonly byte[][] _separators; // sorted by length, shortest first
    private readonly int _minLength;
    private readonly int _maxLength;
    private readonly int _limit;
    private readonly AtEnd _atEnd;
    private readonly OnOverrun _overrun;
    private State _state;
    private int _offset; // where the next search starts; valid while the buffer start does not move
    private LimitOverrunException? _resynced; // what the next call throws in State.Resynced

    public SeparatorDecoder(byte[][] separatorsByLength, int limit, AtEnd atEnd, OnOverrun overrun = OnOverrun.Fail)
    {
        _separators = separatorsByLength;
        _minLength = separatorsByLength[0].Length;
        _maxLength = separatorsByLength[^1].Length;
        _limit = limit;
        _atEnd = atEnd;
        _overrun = overrun;
    }

    /// <summary>A decoder for <c>\n</c>-terminated lines.</summary>
    public static SeparatorDecoder ForLines(int limit, AtEnd atEnd, OnOverrun overrun = OnOverrun.Fail) => new(LineSeparators, limit, atEnd, overrun);

    /// <summary>The decoder's reaction to an over-long frame under a public <see cref="OverflowPolicy"/>.</summary>
    public static OnOverrun For(OverflowPolicy overflow) => overflow == OverflowPolicy.Skip ? OnOverrun.Skip : OnOverrun.Fail;

    internal static readonly byte[] NewLine = [(byte)'\n'];

    private static readonly byte[][] LineSeparators = [NewLine];

    // One field for both unusual states, so the per-frame path tests a single byte, as before Resync existed.
    private enum State : byte
    {
        Scanning,
        Discarding, // Skip: dropping an over-long frame whose separator has not arrived yet
        Resynced, // Resync: an over-long frame was dropped; the next call throws _resynced
    }

    public override DecodeStatus Decode(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        var span = buffer.Span;
        if (span.Length - _offset >= _minLength)
        {
            int matchEnd = FindEarliestEnd(span, _offset, out int matchStart);
            if (matchEnd >= 0)
            {
                _offset = 0;
                consumed = matchEnd;
                if (_state != State.Scanning || matchStart > _limit)
                {
                    frame = default;
                    return FoundTooLong(matchStart);
                }

                frame = buffer[..matchEnd];
                return DecodeStatus.Frame;
            }

            _offset = Math.Max(0, span.Length + 1 - _maxLength);
            if (_state != State.Scanning || _offset > _limit)
            {
                frame = default;
                return NotFoundTooLong(span.Length, out consumed);
            }
        }
        else if (_state == State.Resynced)
        {
            ThrowResynced(); // too few bytes to search, maybe none: the overrun is still due
        }

        frame = default;
        consumed = 0;
        return DecodeStatus.NeedMoreData;
    }

    /// <summary>
    /// Frames of one separator (lines, <c>\r\n</c>, any single separator) within the limit, each found with one
    /// vectorised search and no per-frame call: the run that pull framing decodes ahead. Stops before a frame over the
    /// limit, leaving it to <see cref="Decode"/>; after the last separator, remembers how far the tail was searched, as
    /// <see cref="Decode"/> would, unless that passes the limit (then <see cref="Decode"/> searches the tail again and
    /// reports the overrun). Several separators (the earliest end wins) take the general path.
    /// </summary>
    public override int DecodeRun(ReadOnlySpan<byte> buffer, int bufferStart, Span<FrameSlice> frames, Span<int> bytesLeftAfter)
    {
        if (_state != State.Scanning || _offset != 0 || _separators.Length != 1)
        {
            return 0;
        }

        var separator = _separators[0];
        int count = separator.Length == 1
            ? Run<OneByte>(buffer, bufferStart, separator, _limit, frames, bytesLeftAfter, out int unmatchedTail)
            : Run<SeveralBytes>(buffer, bufferStart, separator, _limit, frames, bytesLeftAfter, out unmatchedTail);
        if (unmatchedTail >= 0)
        {
            // Where Decode's search resumes, as it computes it; past the limit, Decode searches again and reports it.
            int resume = Math.Max(0, unmatchedTail + 1 - separator.Length);
            if (resume <= _limit)
            {
                _offset = resume;
            }
        }

        return count;
    }

    /// <summary>
    /// The run's loop. <paramref name="unmatchedTail"/>: when the run ended for want of a separator, the length searched
    /// after its last frame; otherwise -1.
    /// </summary>
    private static int Run<TSearch>(ReadOnlySpan<byte> span, int bufferStart, byte[] separator, int limit, Span<FrameSlice> frames, Span<int> bytesLeftAfter, out int unmatchedTail)
        where TSearch : struct, ISeparatorSearch
    {
        int start = 0;
        int count = 0;
        unmatchedTail = -1;
        while (count < frames.Length)
        {
            int index = TSearch.IndexOf(span[start..], separator);
            if (index < 0)
            {
                unmatchedTail = span.Length - start;
                break;
            }

            if (index > limit)
            {
                break;
            }

            int end = start + index + separator.Length;
            frames[count] = new FrameSlice(bufferStart + start, end - start);
            bytesLeftAfter[count++] = span.Length - end;
            start = end;
        }

        return count;
    }

    /// <summary>How a run finds its separator, as a type argument: one specialized loop for a single byte, one for more.</summary>
    private interface ISeparatorSearch
    {
        static abstract int IndexOf(ReadOnlySpan<byte> span, byte[] separator);
    }

    private readonly struct OneByte : ISeparatorSearch
    {
        public static int IndexOf(ReadOnlySpan<byte> span, byte[] separator) => span.IndexOf(separator[0]);
    }

    private readonly struct SeveralBytes : ISeparatorSearch
    {
        public static int IndexOf(ReadOnlySpan<byte> span, byte[] separator) => IndexOfMultiByte(span, separator);
    }

    public override DecodeStatus DecodeAtEnd(ReadOnlyMemory<byte> buffer, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        _offset = 0;
        frame = default;
        consumed = 0;
        if (_state == State.Resynced)
        {
            ThrowResynced();
        }

        if (_state == State.Discarding)
        {
            // The input ended inside a frame being skipped: it was dropped already, so this is a clean end.
            _state = State.Scanning;
            return DecodeStatus.End;
        }

        if (buffer.IsEmpty)
        {
            return _atEnd == AtEnd.EmitPartialOrEmpty ? DecodeStatus.Frame : DecodeStatus.NeedMoreData;
        }

        if (_atEnd == AtEnd.Throw)
        {
            return DecodeStatus.NeedMoreData; // an unfinished frame
        }

        frame = buffer;
        consumed = buffer.Length;
        return DecodeStatus.Frame;
    }

    /// <summary>Resets the scan position: the buffer was consumed by someone else (the pull methods mix decoders).</summary>
    public override void Reset()
    {
        _offset = 0;
        _state = State.Scanning;
        _resynced = null;
    }

    // A separator, and not a plain frame: it ends a frame being discarded, or it starts beyond the limit (asyncio:
    // "found, but chunk is longer than limit", consumed = its start), or an overrun is due. The caller's consumed covers
    // the frame through its separator. Out of line: never on the per-frame path.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DecodeStatus FoundTooLong(int matchStart)
    {
        const string Message = "Separator is found, but chunk is longer than limit";
        if (_state == State.Resynced)
        {
            ThrowResynced();
        }

        if (_state == State.Discarding)
        {
            _state = State.Scanning;
            return DecodeStatus.Skipped;
        }

        switch (_overrun)
        {
            case OnOverrun.Skip:
                return DecodeStatus.Overrun;
            case OnOverrun.Resync:
                _state = State.Resynced;
                _resynced = new LimitOverrunException(Message, matchStart);
                return DecodeStatus.Skipped;
            default:
                throw new LimitOverrunException(Message, matchStart);
        }
    }

    // No separator, and the search passed the limit (asyncio: "not found, and chunk exceed the limit", consumed = the
    // search position); or more bytes of a frame being discarded; or an overrun is due.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DecodeStatus NotFoundTooLong(int buffered, out int consumed)
    {
        const string Message = "Separator is not found, and chunk exceed the limit";
        if (_state == State.Resynced)
        {
            ThrowResynced(); // the buffer did not move, so the scan position stays valid
        }

        switch (_overrun)
        {
            case OnOverrun.Skip:
                // Drop what can no longer be part of a separator; keep the rest for the next search.
                bool starts = _state == State.Scanning;
                _state = State.Discarding;
                consumed = _offset;
                _offset = 0;
                return consumed == 0 ? DecodeStatus.NeedMoreData : starts ? DecodeStatus.Overrun : DecodeStatus.Skipped;
            case OnOverrun.Resync:
                _state = State.Resynced;
                _resynced = new LimitOverrunException(Message, _offset);
                _offset = 0;
                consumed = buffered;
                return DecodeStatus.Skipped;
            default:
                throw new LimitOverrunException(Message, _offset);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowResynced()
    {
        var error = _resynced!;
        _state = State.Scanning;
        _resynced = null;
        throw error;
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
