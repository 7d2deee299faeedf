using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RxStreams.Framing;

/// <summary>
/// The writer side of the framing operators: each method encodes one frame straight into a <see cref="ConnectionWriter"/>,
/// so that the matching operator on the peer's reader gives the frame back.
/// </summary>
/// <remarks>
/// <para>
/// Each frame is handed to <see cref="ConnectionWriter.Write(ReadOnlySpan{byte})"/> in one call (the header and payload
/// are assembled on the stack, or in a pooled array for large frames, which the writer then copies): frames written
/// from several threads never interleave, and a write the writer refuses (<see cref="WriteBufferOverflowException"/>)
/// leaves no half frame behind. Like <c>Write</c>, they buffer and return; await <see cref="ConnectionWriter.DrainAsync"/>
/// for flow control.
/// </para>
/// <para>
/// Every method throws what <see cref="ConnectionWriter.Write(ReadOnlySpan{byte})"/> throws:
/// <see cref="InvalidOperationException"/> after <see cref="ConnectionWriter.WriteEof"/> or <see cref="ConnectionWriter.Close"/>,
/// <see cref="IOException"/> when the connection was lost, <see cref="WriteBufferOverflowException"/> past the buffer cap.
/// </para>
/// </remarks>
public static class FrameEncoders
{
    /// <summary>Frames up to this size are assembled on the stack; larger ones in a pooled array.</summary>
    private const int StackLimit = 512;

    /// <summary>
    /// Writes <paramref name="payload"/> as one length-prefixed frame that
    /// <see cref="FramingExtensions.LengthPrefixed"/> with the same <paramref name="options"/> decodes back to
    /// <paramref name="payload"/>: the length field, holding <c>payload.Length - LengthAdjustment</c>, then the payload.
    /// </summary>
    /// <param name="writer">The writer.</param>
    /// <param name="payload">The payload; may be empty.</param>
    /// <param name="options">
    /// The frame layout; <see langword="null"/> for the defaults (a 4-byte big-endian payload length). It must describe a
    /// frame that starts with its length field and whose emitted frame is the body (<see cref="LengthFieldOptions.LengthFieldOffset"/>
    /// 0 and <see cref="LengthFieldOptions.InitialBytesToStrip"/> equal to <see cref="LengthFieldOptions.LengthFieldSize"/>,
    /// as by default): other layouts carry bytes only the application knows. <see cref="LengthFieldOptions.MaxFrameLength"/>
    /// is not checked: the limit is the receiver's.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="options"/> has a length field offset or bytes to strip that an encoder cannot produce, or the
    /// length of <paramref name="payload"/> does not fit in the length field (after the adjustment).
    /// </exception>
    /// <exception cref="InvalidOperationException">After <see cref="ConnectionWriter.WriteEof"/> or <see cref="ConnectionWriter.Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public static void WriteLengthPrefixed(this ConnectionWriter writer, ReadOnlySpan<byte> payload, LengthFieldOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        options ??= LengthFieldOptions.Default;
        int size = options.LengthFieldSize;
        if (options.LengthFieldOffset != 0 || options.InitialBytesToStrip != size)
        {
            throw new ArgumentException("An encoder can only write frames that start with their length field and are emitted without it (LengthFieldOffset = 0, InitialBytesToStrip = LengthFieldSize).", nameof(options));
        }

        long value = (long)payload.Length - options.LengthAdjustment;
        ulong max = size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
        if (value < 0 || (ulong)value > max)
        {
            throw new ArgumentException($"A payload of {payload.Length} bytes needs the length value {value}, which does not fit in a {size}-byte length field.", nameof(payload));
        }

        if (payload.Length > Array.MaxLength - size)
        {
            throw new ArgumentException($"A payload of {payload.Length} bytes is too long to be framed.", nameof(payload));
        }

        int total = size + payload.Length;
        byte[]? rented = null;
        Span<byte> frame = total <= StackLimit ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        try
        {
            WriteUnsigned(frame[..size], (ulong)value, options.BigEndian);
            payload.CopyTo(frame[size..]);
            writer.Write(frame);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="payload"/> prefixed with its length as a protobuf base-128 varint (<c>writeDelimitedTo</c>),
    /// which <see cref="FramingExtensions.VarintPrefixed"/> decodes back to <paramref name="payload"/>.
    /// </summary>
    /// <param name="writer">The writer.</param>
    /// <param name="payload">The payload; may be empty.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is too long to be framed in one array (about 2 GiB).</exception>
    /// <exception cref="InvalidOperationException">After <see cref="ConnectionWriter.WriteEof"/> or <see cref="ConnectionWriter.Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public static void WriteVarintPrefixed(this ConnectionWriter writer, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> header = stackalloc byte[10];
        int headerLength = WriteVarint(header, (ulong)payload.Length);
        if (payload.Length > Array.MaxLength - headerLength)
        {
            throw new ArgumentException($"A payload of {payload.Length} bytes is too long to be framed.", nameof(payload));
        }

        int total = headerLength + payload.Length;
        byte[]? rented = null;
        Span<byte> frame = total <= StackLimit ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        try
        {
            header[..headerLength].CopyTo(frame);
            payload.CopyTo(frame[headerLength..]);
            writer.Write(frame);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="line"/> and a <c>\n</c>, encoded with <paramref name="encoding"/>: the writer side of
    /// <see cref="FramingExtensions.LinesText"/> (and of asyncio's <c>readline</c> on the peer).
    /// </summary>
    /// <param name="writer">The writer.</param>
    /// <param name="line">The line, without its line ending; it should not contain <c>\n</c>, or the peer sees two lines.</param>
    /// <param name="encoding">The encoding; <see langword="null"/> for UTF-8 (no byte-order mark is written).</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> or <paramref name="line"/> is <see langword="null"/>.</exception>
    /// <exception cref="EncoderFallbackException">The encoding's fallback throws on a character it cannot encode.</exception>
    /// <exception cref="InvalidOperationException">After <see cref="ConnectionWriter.WriteEof"/> or <see cref="ConnectionWriter.Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public static void WriteLine(this ConnectionWriter writer, string line, Encoding? encoding = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(line);
        WriteEncoded(writer, line, "\n", encoding ?? Encoding.UTF8);
    }

    /// <summary>Writes <paramref name="text"/> encoded with <paramref name="encoding"/>, as it is (the writer side of <see cref="FramingExtensions.DecodeText"/>).</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="text">The text; an empty string writes nothing.</param>
    /// <param name="encoding">The encoding; <see langword="null"/> for UTF-8 (no byte-order mark is written).</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> or <paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="EncoderFallbackException">The encoding's fallback throws on a character it cannot encode.</exception>
    /// <exception cref="InvalidOperationException">After <see cref="ConnectionWriter.WriteEof"/> or <see cref="ConnectionWriter.Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public static void WriteText(this ConnectionWriter writer, string text, Encoding? encoding = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(text);
        WriteEncoded(writer, text, string.Empty, encoding ?? Encoding.UTF8);
    }

    /// <summary>Writes <paramref name="value"/> as a base-128 varint into <paramref name="destination"/> (10 bytes suffice); returns its length.</summary>
    internal static int WriteVarint(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Writes an unsigned integer into all of <paramref name="field"/> (1 to 8 bytes).</summary>
    internal static void WriteUnsigned(Span<byte> field, ulong value, bool bigEndian)
    {
        switch (field.Length)
        {
            case 2 when bigEndian:
                BinaryPrimitives.WriteUInt16BigEndian(field, (ushort)value);
                break;
            case 2:
                BinaryPrimitives.WriteUInt16LittleEndian(field, (ushort)value);
                break;
            case 4 when bigEndian:
                BinaryPrimitives.WriteUInt32BigEndian(field, (uint)value);
                break;
            case 4:
                BinaryPrimitives.WriteUInt32LittleEndian(field, (uint)value);
                break;
            case 8 when bigEndian:
                BinaryPrimitives.WriteUInt64BigEndian(field, value);
                break;
            case 8:
                BinaryPrimitives.WriteUInt64LittleEndian(field, value);
                break;
            default:
                for (int i = 0; i < field.Length; i++)
                {
                    field[bigEndian ? field.Length - 1 - i : i] = (byte)(value >> (8 * i));
                }

                break;
        }
    }

    private static void WriteEncoded(ConnectionWriter writer, string text, string suffix, Encoding encoding)
    {
        int total = encoding.GetByteCount(text) + encoding.GetByteCount(suffix);
        if (total == 0)
        {
            return;
        }

        byte[]? rented = null;
        Span<byte> frame = total <= StackLimit ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        try
        {
            int written = encoding.GetBytes(text, frame);
            written += encoding.GetBytes(suffix, frame[written..]);
            writer.Write(frame[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
