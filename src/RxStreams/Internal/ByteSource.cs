namespace RxStreams.Internal;

/// <summary>Where a <see cref="ConnectionReader"/> gets its bytes: a socket transport, or bytes fed by hand.</summary>
internal abstract class ByteSource
{
    /// <summary>Appends the next bytes to <paramref name="buffer"/>; returns how many, 0 at the end of the input (sticky).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; nothing was consumed.</exception>
    /// <exception cref="IOException">The input failed.</exception>
    public abstract ValueTask<int> ReceiveAsync(ReadBuffer buffer, CancellationToken cancellationToken);

    /// <summary>Whether it is known that no more bytes will come.</summary>
    public abstract bool InputEnded { get; }

    /// <summary>An error that ended (or will end, once the bytes before it are read) the input.</summary>
    public abstract Exception? PendingError { get; }

    /// <summary>A subscriber's <c>OnNext</c> threw: the connection is this subscriber's and goes down with it.</summary>
    public abstract void OnConsumerFault(Exception error);
}
