namespace RxStreams;

/// <summary>
/// The stream ended before a frame was complete: asyncio's <c>IncompleteReadError</c>.
/// </summary>
/// <remarks>
/// Raised by <see cref="ConnectionReader.ReadExactlyAsync"/> (with <see cref="Expected"/> set),
/// <see cref="ConnectionReader.ReadUntilAsync(ReadOnlyMemory{byte}, CancellationToken)"/> (with <see cref="Expected"/>
/// <see langword="null"/>) and by the framing operators when the input ends inside a frame. The bytes that did arrive are
/// never lost: they are in <see cref="Partial"/>.
/// </remarks>
public sealed class IncompleteReadException : EndOfStreamException
{
    /// <summary>Creates the exception for <paramref name="partial"/> bytes of an <paramref name="expected"/>-byte frame.</summary>
    /// <param name="partial">The bytes read before the end of the stream (owned by the receiver).</param>
    /// <param name="expected">The frame length that was expected, or <see langword="null"/> when it was not known (a separator was expected).</param>
    public IncompleteReadException(ReadOnlyMemory<byte> partial, long? expected)
        : base(FormatMessage(partial.Length, expected))
    {
        Partial = partial;
        Expected = expected;
    }

    /// <summary>Creates the exception for a stream that failed with <paramref name="innerException"/> inside a frame.</summary>
    /// <param name="partial">The bytes read before the failure (owned by the receiver).</param>
    /// <param name="expected">The frame length that was expected, or <see langword="null"/> when it was not known.</param>
    /// <param name="innerException">The error that ended the stream (for example a connection reset).</param>
    public IncompleteReadException(ReadOnlyMemory<byte> partial, long? expected, Exception? innerException)
        : base(FormatMessage(partial.Length, expected), innerException)
    {
        Partial = partial;
        Expected = expected;
    }

    /// <summary>The bytes read before the stream ended (asyncio's <c>partial</c>). May be empty.</summary>
    public ReadOnlyMemory<byte> Partial { get; }

    /// <summary>The number of bytes that were expected, or <see langword="null"/> when a separator was expected (asyncio's <c>expected</c>).</summary>
    public long? Expected { get; }

    private static string FormatMessage(int partialLength, long? expected) =>
        $"{partialLength} bytes read on a total of {(expected is { } e ? e.ToString(System.Globalization.CultureInfo.InvariantCulture) : "undefined")} expected bytes";
}
