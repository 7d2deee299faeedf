using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.InMemory;
using RxStreams.Framing;

namespace RxStreams.Benchmarks;

/// <summary>'\n'-terminated lines: <c>Lines()</c> vs a SequenceReader parser vs <c>StreamReader.ReadLine</c>.</summary>
[MemoryDiagnoser]
[Config(typeof(FramingConfig))]
public class LineFramingBenchmarks : FramingBenchmarkBase
{

    private static readonly byte[] NewLine = "\n"u8.ToArray();

    private protected override byte[] Terminator => NewLine;

    private protected override IObservable<ReadOnlyMemory<byte>> Frame(IObservable<ReadOnlyMemory<byte>> chunks) => chunks.Lines();

    [GlobalSetup]
    public void Setup()
    {
        BuildInput();
        Check(nameof(SequenceReader), SequenceReader());
        Check(nameof(RxOperator), RxOperator());
        Check(nameof(RxOperatorOwned), RxOperatorOwned());
        Check(nameof(RxOperatorAsOwned), RxOperatorAsOwned());
        Check(nameof(PullOperator), PullOperator());
        Check(nameof(PullOperatorOwned), PullOperatorOwned());
        Check(nameof(PullOperatorAsOwned), PullOperatorAsOwned());
        Check(nameof(PushConnection), PushConnection());
        Check(nameof(PullConnection), PullConnection());
        Check(nameof(PullReadLines), PullReadLines());
        Check(nameof(PushConnectionQueued), PushConnectionQueued());
        Check(nameof(PullConnectionQueued), PullConnectionQueued());
        Check(nameof(SpanIndexOf), SpanIndexOf());
        Check(nameof(StreamReader), StreamReader());
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Frames)]
    public long SequenceReader() => RunFramer(default(LineRule));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long SpanIndexOf() => RunSpanFramer(NewLine);

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullOperator() => RunPull(new AsyncChunkSource(Chunks).Lines());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullOperatorOwned() => RunPull(new OwnedAsyncChunkSource(Chunks).Lines());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullOperatorAsOwned() => RunPull(new AsyncChunkSource(Chunks).AsOwned().Lines());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnection() => RunConnectionPush(static reader => reader.Lines());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnection() => RunConnectionPull(static reader => reader.ReadChunksAsync().Lines());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnectionQueued() => RunQueuedConnectionPush(static reader => reader.Lines());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnectionQueued() => RunQueuedConnectionPull(static reader => reader.ReadChunksAsync().Lines());

    /// <summary>asyncio's <c>async for line in reader</c>: one <c>ReadLineAsync</c> per line (the reader is free between lines).</summary>
    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullReadLines() => RunConnectionPull(static reader => reader.ReadLinesAsync());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long StreamReader()
    {
        using var reader = new System.IO.StreamReader(new MemoryStream(Input, writable: false), Utf8NoBom, detectEncodingFromByteOrderMarks: false, ChunkSize);
        long bytes = 0;
        while (reader.ReadLine() is { } line)
        {
            bytes += line.Length + 1; // ReadLine drops the '\n'; the payload is ASCII, one byte per char
        }

        return bytes;
    }
}
