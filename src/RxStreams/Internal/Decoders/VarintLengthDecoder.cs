using RxStreams.Framing;

namespace RxStreams.Decoders;

/// <summary>
/// Frames prefixed with their length as a protobuf base-128 varint (<c>writeDelimitedTo</c> / <c>parseDelimitedFrom</c>,
/// Netty's <c>ProtobufVarint32FrameDecoder</c>): seven bits per byte, least significant group first, the high bit set on
/// every byte but the last. Frames are the payloads, slices of the buffer.
/// </summary>
/// <remarks>
/// <para>The header is the varint; <c>maxFrameLength</c> bounds the payload. The rest is <see cref="LengthDelimitedDecoder"/>'s.</para>
/// <para>Non-minimal encodings (<c>0x80 0x00</c> for 0) are accepted, as protobuf does.</para>
/// </remarks>
internal sealed class VarintLengthDecoder(int maxFrameLength, OverflowPolicy overflow) : LengthDelimitedDecoder(overflow)
{
    /// <summary>The longest varint: ten groups of seven bits hold 64.</summary>
    internal const int MaxVarintLength = 10;


    protected override bool TryReadHeader(ReadOnlySpan<byte> span, out Int128 frameLength, out int payloadStart, out string? tooLong)
    {
        tooLong = null;
        if (!TryReadVarint(span, out ulong value, out payloadStart))
        {
            frameLength = 0;
            return false;
        }

        frameLength = (Int128)value + payloadStart;
        if (value > (ulong)maxFrameLength)
        {
            tooLong = $"The varint length prefix announces {value} bytes, more than the maximum of {maxFrameLength}.";
        }
        else if (frameLength > Array.MaxLength)
        {
            // With maxFrameLength near int.MaxValue the payload fits the limit but payload + header cannot be one buffer
            // (found by fuzzing: the frame length wrapped negative and slicing threw ArgumentOutOfRangeException).
            tooLong = $"The varint length prefix announces {value} bytes; with its {payloadStart}-byte header that is more than one buffer can hold.";
        }

        return true;
    }

    /// <summary>Reads the varint at the start of <paramref name="span"/>; <see langword="false"/> when it is not complete yet.</summary>
    /// <exception cref="InvalidDataException">The varint is longer than 10 bytes or its value does not fit in 64 bits.</exception>
    internal static bool TryReadVarint(ReadOnlySpan<byte> span, out ulong value, out int length)
    {
        value = 0;
        int count = Math.Min(span.Length, MaxVarintLength);
        for (int i = 0; i < count; i++)
        {
            byte b = span[i];
            if (i == MaxVarintLength - 1 && b > 1)
            {
                throw new InvalidDataException("Malformed varint length prefix: longer than 10 bytes, or more than 64 bits.");
            }

            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                length = i + 1;
                return true;
            }
        }

        length = 0;
        return false;
    }
}
