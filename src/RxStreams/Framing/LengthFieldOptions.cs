namespace RxStreams.Framing;

/// <summary>
/// The layout of length-prefixed frames for <see cref="FramingExtensions.LengthPrefixed"/> and
/// <see cref="FrameEncoders.WriteLengthPrefixed"/>, parameter for parameter Netty's <c>LengthFieldBasedFrameDecoder</c>
/// (tokio-util's <c>LengthDelimitedCodec</c> has the same knobs).
/// </summary>
/// <remarks>
/// <para>
/// A frame on the wire is <c>LengthFieldOffset</c> bytes of whatever the protocol puts there, the length field
/// (<see cref="LengthFieldSize"/> bytes, unsigned), then the body. The body is <c>length + LengthAdjustment</c> bytes long,
/// so the whole frame is <c>LengthFieldOffset + LengthFieldSize + length + LengthAdjustment</c> bytes; a negative body
/// length is <see cref="InvalidDataException"/>. The operator emits the frame without its first
/// <see cref="InitialBytesToStrip"/> bytes.
/// </para>
/// <para>
/// The defaults describe the most common layout, a 4-byte big-endian length of the payload followed by the payload, and
/// emit just the payload. Examples: a length that counts itself: <c>LengthAdjustment = -4</c>; a 2-byte little-endian
/// length after a 1-byte type tag, keeping the tag: <c>LengthFieldOffset = 1, LengthFieldSize = 2, BigEndian = false,
/// InitialBytesToStrip = 0</c> (then strip the tag and length yourself, or set <c>InitialBytesToStrip = 3</c> to drop both).
/// </para>
/// <para>Immutable once built: one instance can serve any number of operators and threads.</para>
/// </remarks>
public sealed class LengthFieldOptions
{
    private readonly int _lengthFieldOffset;
    private readonly int _lengthFieldSize = 4;
    private readonly int? _initialBytesToStrip;
    private readonly int _maxFrameLength = FramingExtensions.DefaultLimit;

    /// <summary>Where the length field starts in the frame, in bytes; 0 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int LengthFieldOffset
    {
        get => _lengthFieldOffset;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _lengthFieldOffset = value;
        }
    }

    /// <summary>
    /// The size of the length field in bytes: 1, 2, 4 or 8 (any size from 1 to 8 is accepted, so 3-byte fields work too);
    /// 4 by default. The field is read as an unsigned integer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 1 and 8.</exception>
    public int LengthFieldSize
    {
        get => _lengthFieldSize;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 8);
            _lengthFieldSize = value;
        }
    }

    /// <summary>Whether the length field is big-endian (network byte order, the default) or little-endian.</summary>
    public bool BigEndian { get; init; } = true;

    /// <summary>
    /// Added to the length field's value to get the body length (the bytes after the field); 0 by default. Use
    /// <c>-LengthFieldSize</c> (or minus the whole header) when the length counts the header, a positive value when
    /// fixed bytes follow the field without being counted.
    /// </summary>
    public int LengthAdjustment { get; init; }

    /// <summary>
    /// How many bytes to drop from the start of each frame before emitting it; by default the header
    /// (<see cref="LengthFieldOffset"/> + <see cref="LengthFieldSize"/>), so frames are the bodies. Set 0 to keep the
    /// header. Reading it returns the effective value.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int InitialBytesToStrip
    {
        get => _initialBytesToStrip ?? (int)Math.Min((long)_lengthFieldOffset + _lengthFieldSize, int.MaxValue);
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _initialBytesToStrip = value;
        }
    }

    /// <summary>
    /// The longest frame accepted, counting every byte of it on the wire (header included, before stripping), as in Netty;
    /// 64 KiB (<see cref="FramingExtensions.DefaultLimit"/>) by default.
    /// </summary>
    /// <remarks>
    /// It is checked from the header, before any of the body is buffered, so a peer announcing a 10 GB frame is refused
    /// (or skipped, see <see cref="OverflowPolicy"/>) at once. It bounds what one frame can make the receiver buffer.
    /// Encoders do not check it: the limit is the receiver's.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int MaxFrameLength
    {
        get => _maxFrameLength;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxFrameLength = value;
        }
    }

    /// <summary>Where the length field ends: <see cref="LengthFieldOffset"/> + <see cref="LengthFieldSize"/>.</summary>
    internal int HeaderLength => _lengthFieldOffset + _lengthFieldSize;

    /// <summary>The defaults: a 4-byte big-endian payload length, frames are payloads, 64 KiB at most.</summary>
    internal static readonly LengthFieldOptions Default = new();

    /// <summary>Checks the combination, which the single properties cannot: the header must fit in a frame.</summary>
    internal void Validate(string paramName)
    {
        if ((long)_lengthFieldOffset + _lengthFieldSize > _maxFrameLength)
        {
            throw new ArgumentException($"The length field ends at byte {(long)_lengthFieldOffset + _lengthFieldSize}, beyond MaxFrameLength ({_maxFrameLength}): no frame could be accepted.", paramName);
        }
    }
}
