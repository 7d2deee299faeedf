namespace RxStreams.Benchmarks.Baselines;

/// <summary>What an echo server does with the bytes it receives.</summary>
internal enum EchoMode
{
    /// <summary>
    /// Split the input into '\n'-terminated lines and echo each line, '\n' included.
    /// This is the framing work a line protocol server really does; a trailing partial line at EOF is dropped.
    /// </summary>
    Lines,

    /// <summary>Echo every byte as it arrives, with no framing (throughput of the raw byte path).</summary>
    Bulk,
}
