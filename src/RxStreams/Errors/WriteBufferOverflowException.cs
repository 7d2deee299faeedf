namespace RxStreams;

/// <summary>
/// A write would have taken the writer's buffer past <see cref="ConnectionOptions.MaxWriteBufferSize"/>: the writer's
/// peer reads slower than the application writes and nothing waited on <see cref="ConnectionWriter.DrainAsync"/>.
/// </summary>
/// <remarks>What happened to the connection depends on <see cref="ConnectionOptions.WriteBufferOverflow"/>.</remarks>
public sealed class WriteBufferOverflowException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="bufferSize">Bytes buffered before the write.</param>
    /// <param name="writeSize">Bytes the write tried to add.</param>
    /// <param name="maxBufferSize">The cap.</param>
    public WriteBufferOverflowException(long bufferSize, long writeSize, long maxBufferSize)
        : base($"Writing {writeSize} bytes would take the write buffer ({bufferSize} bytes) past its cap of {maxBufferSize} bytes; await DrainAsync() between writes, or raise ConnectionOptions.MaxWriteBufferSize.")
    {
        BufferSize = bufferSize;
        WriteSize = writeSize;
        MaxBufferSize = maxBufferSize;
    }

    /// <summary>Bytes buffered before the write.</summary>
    public long BufferSize { get; }

    /// <summary>Bytes the write tried to add.</summary>
    public long WriteSize { get; }

    /// <summary>The cap that would have been exceeded.</summary>
    public long MaxBufferSize { get; }
}
