using System.Buffers;

namespace RxStreams.Benchmarks.InMemory;

/// <summary>How the hand-written baseline cuts one frame off the front of a <see cref="SequenceReader{T}"/>.</summary>
internal interface IFrameRule
{
    /// <summary>Reads one frame (terminator included) and advances past it; false when the rest is an unfinished frame.</summary>
    bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> frame);
}

/// <summary>'\n'-terminated lines: <c>TryReadTo</c> (a vectorised IndexOf per segment), frame sliced with its '\n'.</summary>
internal readonly struct LineRule : IFrameRule
{
    public bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> frame)
    {
        var start = reader.Position;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> _, (byte)'\n', advancePastDelimiter: true))
        {
            frame = default;
            return false;
        }

        frame = reader.Sequence.Slice(start, reader.Position);
        return true;
    }
}

/// <summary>Frames ending with a multi-byte separator: <c>TryReadTo(ReadOnlySpan)</c>.</summary>
internal readonly struct SeparatorRule(byte[] separator) : IFrameRule
{
    public bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> frame)
    {
        var start = reader.Position;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> _, separator, advancePastDelimiter: true))
        {
            frame = default;
            return false;
        }

        frame = reader.Sequence.Slice(start, reader.Position);
        return true;
    }
}

/// <summary>Fixed-length frames: <c>TryReadExact</c>.</summary>
internal readonly struct ExactRule(int length) : IFrameRule
{
    public bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> frame) =>
        reader.TryReadExact(length, out frame);
}

/// <summary>
/// Frames that start with a 4-byte big-endian payload length (the default layout of <c>LengthPrefixed()</c>): the frame
/// is the payload, header stripped. <c>TryReadBigEndian</c> reads the header (across segments if it straddles), then
/// <c>TryReadExact</c> slices the payload; an unfinished frame rewinds past its header, as a PipeReader consumer that
/// examined but did not consume it. Like the operator, it refuses a frame longer than <paramref name="maxFrameLength"/>
/// (header included) before waiting for its body: any real parser must, or a peer chooses its buffer size.
/// </summary>
internal readonly struct LengthPrefixRule(int maxFrameLength) : IFrameRule
{
    public const int HeaderLength = sizeof(int);

    public bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> frame)
    {
        if (!reader.TryReadBigEndian(out int field))
        {
            frame = default;
            return false;
        }

        var length = (uint)field;
        if (length > (uint)(maxFrameLength - HeaderLength))
        {
            throw new InvalidDataException($"The frame announces {length} payload bytes, more than the maximum of {maxFrameLength - HeaderLength}.");
        }

        if (!reader.TryReadExact((int)length, out frame))
        {
            reader.Rewind(HeaderLength);
            return false;
        }

        return true;
    }
}

/// <summary>
/// The baseline framer: what a <see cref="System.IO.Pipelines.PipeReader"/> consumer does, without the pipe. Chunks are
/// linked into a <see cref="ReadOnlySequence{T}"/> (no copy), a <see cref="SequenceReader{T}"/> cuts every complete frame
/// out of it, and the unfinished frame at the end stays linked for the next chunk (like <c>AdvanceTo(consumed)</c>).
/// Segment objects are recycled, so steady-state framing allocates nothing.
/// </summary>
/// <remarks>
/// A frame that spans chunks is a multi-segment sequence here, while RxStreams hands out one contiguous, owned
/// <see cref="ReadOnlyMemory{T}"/> (copying such frames when needed): the baseline does strictly less work per frame.
/// </remarks>
internal sealed class SequenceFramer
{
    private Segment? _head; // first chunk that still holds unconsumed bytes
    private int _headOffset;
    private Segment? _tail;
    private Segment? _free;

    public long Frames { get; private set; }

    public long Bytes { get; private set; }

    public void Reset()
    {
        while (_head is not null)
        {
            var next = (Segment?)_head.Next;
            Return(_head);
            _head = next;
        }

        _tail = null;
        _headOffset = 0;
        Frames = Bytes = 0;
    }

    /// <summary>Frames every complete frame the chunk finishes; keeps the rest.</summary>
    public void Feed<TRule>(ReadOnlyMemory<byte> chunk, TRule rule)
        where TRule : struct, IFrameRule
    {
        var segment = Rent(chunk);
        if (_tail is null)
        {
            _head = _tail = segment;
            _headOffset = 0;
        }
        else
        {
            segment.RunningIndexValue = _tail.RunningIndex + _tail.Memory.Length;
            _tail.NextValue = segment;
            _tail = segment;
        }

        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(_head!, _headOffset, _tail, _tail.Memory.Length));
        long frames = 0, bytes = 0;
        while (rule.TryRead(ref reader, out var frame))
        {
            frames++;
            bytes += frame.Length;
        }

        Frames += frames;
        Bytes += bytes;

        // Drop the chunks that are fully consumed: AdvanceTo(consumed).
        var position = reader.Position;
        var consumedIn = (Segment)position.GetObject()!;
        int offset = position.GetInteger();
        while (!ReferenceEquals(_head, consumedIn))
        {
            var next = (Segment)_head!.Next!;
            Return(_head);
            _head = next;
        }

        _headOffset = offset;
        if (ReferenceEquals(_head, _tail) && offset == _tail.Memory.Length)
        {
            Return(_head);
            _head = _tail = null;
            _headOffset = 0;
        }
    }

    private Segment Rent(ReadOnlyMemory<byte> memory)
    {
        var segment = _free ?? new Segment();
        _free = (Segment?)segment.Next;
        segment.MemoryValue = memory;
        segment.NextValue = null;
        segment.RunningIndexValue = 0;
        return segment;
    }

    private void Return(Segment segment)
    {
        segment.MemoryValue = default;
        segment.NextValue = _free;
        _free = segment;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public ReadOnlyMemory<byte> MemoryValue
        {
            set => Memory = value;
        }

        public Segment? NextValue
        {
            set => Next = value;
        }

        public long RunningIndexValue
        {
            set => RunningIndex = value;
        }
    }
}
