namespace RxStreams.Benchmarks.InMemory;

/// <summary>
/// The floor: a hand-tuned framer with no abstraction at all. It searches each chunk's span with a vectorised
/// <c>IndexOf</c> and copies only the bytes of a frame that straddles two chunks into a reused carry-over buffer.
/// Frames are transient spans (valid only during the call), not owned memory, so it does less than RxStreams promises;
/// it shows how much of the cost is the search itself.
/// </summary>
internal sealed class SpanFramer
{
    private byte[] _carry = new byte[4096];
    private int _carryLength;

    public long Frames { get; private set; }

    public long Bytes { get; private set; }

    public void Reset()
    {
        _carryLength = 0;
        Frames = Bytes = 0;
    }

    /// <summary>Frames ending with <paramref name="separator"/> (one or two bytes), separator included.</summary>
    public void FeedSeparated(ReadOnlySpan<byte> chunk, ReadOnlySpan<byte> separator)
    {
        long frames = 0, bytes = 0;
        if (_carryLength > 0)
        {
            // Finish the frame begun in an earlier chunk; a two-byte separator may itself be split between them.
            int end;
            if (separator.Length == 2 && _carry[_carryLength - 1] == separator[0] && !chunk.IsEmpty && chunk[0] == separator[1])
            {
                end = 1;
            }
            else
            {
                int index = separator.Length == 1 ? chunk.IndexOf(separator[0]) : chunk.IndexOf(separator);
                if (index < 0)
                {
                    AppendCarry(chunk);
                    return;
                }

                end = index + separator.Length;
            }

            AppendCarry(chunk[..end]); // the straddling frame, made contiguous as a parser would need it
            bytes += _carryLength;
            frames++;
            _carryLength = 0;
            chunk = chunk[end..];
        }

        while (true)
        {
            int index = separator.Length == 1 ? chunk.IndexOf(separator[0]) : chunk.IndexOf(separator);
            if (index < 0)
            {
                break;
            }

            int end = index + separator.Length;
            bytes += end;
            frames++;
            chunk = chunk[end..];
        }

        AppendCarry(chunk);
        Frames += frames;
        Bytes += bytes;
    }

    /// <summary>Frames of exactly <paramref name="length"/> bytes.</summary>
    public void FeedExact(ReadOnlySpan<byte> chunk, int length)
    {
        long frames = 0, bytes = 0;
        if (_carryLength > 0)
        {
            int missing = length - _carryLength;
            if (chunk.Length < missing)
            {
                AppendCarry(chunk);
                return;
            }

            AppendCarry(chunk[..missing]);
            bytes += _carryLength;
            frames++;
            _carryLength = 0;
            chunk = chunk[missing..];
        }

        while (chunk.Length >= length)
        {
            bytes += length;
            frames++;
            chunk = chunk[length..];
        }

        AppendCarry(chunk);
        Frames += frames;
        Bytes += bytes;
    }

    /// <summary>
    /// Frames that start with a 4-byte big-endian payload length; counts the payloads (header stripped). A frame, or its
    /// header, that straddles two chunks is assembled in the carry-over buffer.
    /// </summary>
    public void FeedLengthPrefixed(ReadOnlySpan<byte> chunk, int maxFrameLength)
    {
        const int Header = sizeof(int);
        long frames = 0, bytes = 0;
        if (_carryLength > 0)
        {
            if (_carryLength < Header)
            {
                int headerMissing = Math.Min(Header - _carryLength, chunk.Length);
                AppendCarry(chunk[..headerMissing]);
                chunk = chunk[headerMissing..];
                if (_carryLength < Header)
                {
                    return;
                }
            }

            int frameLength = Header + PayloadLength(_carry, maxFrameLength);
            int missing = frameLength - _carryLength;
            if (chunk.Length < missing)
            {
                AppendCarry(chunk);
                return;
            }

            AppendCarry(chunk[..missing]);
            bytes += frameLength - Header;
            frames++;
            _carryLength = 0;
            chunk = chunk[missing..];
        }

        while (chunk.Length >= Header)
        {
            int frameLength = Header + PayloadLength(chunk, maxFrameLength);
            if (chunk.Length < frameLength)
            {
                break;
            }

            bytes += frameLength - Header;
            frames++;
            chunk = chunk[frameLength..];
        }

        AppendCarry(chunk);
        Frames += frames;
        Bytes += bytes;
    }

    private static int PayloadLength(ReadOnlySpan<byte> header, int maxFrameLength)
    {
        uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > (uint)(maxFrameLength - sizeof(int)))
        {
            throw new InvalidDataException($"The frame announces {length} payload bytes, more than the maximum of {maxFrameLength - sizeof(int)}.");
        }

        return (int)length;
    }

    private void AppendCarry(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        if (_carryLength + bytes.Length > _carry.Length)
        {
            Array.Resize(ref _carry, Math.Max(_carry.Length * 2, _carryLength + bytes.Length));
        }

        bytes.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength += bytes.Length;
    }
}
