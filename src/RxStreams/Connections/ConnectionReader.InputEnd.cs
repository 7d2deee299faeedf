using RxStreams.Internal;

namespace RxStreams;

// When a read has found the end of the input. The type's docs are in ConnectionReader.cs.
public sealed partial class ConnectionReader
{
    private LazyCompletion _inputEndSeen;

    /// <summary>
    /// Completes once a read found the end of the input, clean (the peer's EOF, a local close) or failed: the cold
    /// <see cref="Streams.Connect(string, int, ConnectionOptions?)"/> completes then, as its consumer's sequence does.
    /// Nobody reading means nobody sees the end, so this waits as the consumer would.
    /// </summary>
    internal Task InputEndSeen => _inputEndSeen.Task;

    private void OnInputEndSeen() => _inputEndSeen.Complete();
}
