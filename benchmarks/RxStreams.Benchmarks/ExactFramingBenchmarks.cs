using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.InMemory;
using RxStreams.Framing;

namespace RxStreams.Benchmarks;

/// <summary>Fixed-length frames: <c>Exactly(n)</c> vs SequenceReader's <c>TryReadExact</c> vs <c>Stream.ReadExactly</c> into a reused buffer.</summary>
[MemoryDiagnoser]
[Config(typeof(FramingConfig))]
public class ExactFramingBenchmarks : FramingBenchmarkBase
{
    private byte[] _frameBuffer = [];

    private protected override byte[] Terminator => [];

    private protected override IObservable<ReadOnlyMemory<byte>> Frame(IObservable<ReadOnlyMemory<byte>> chunks) => chunks.Exactly(FrameSize);

    [GlobalSetup]
    public void Setup()
    {
        BuildInput();
        _frameBuffer = new byte[FrameSize];
        Check(nameof(SequenceReader), SequenceReader());
        Check(nameof(RxOperator), RxOperator());
        Check(nameof(RxOperatorOwned), RxOperatorOwned());
        Check(nameof(RxOperatorAsOwned), RxOperatorAsOwned());
        Check(nameof(PushConnection), PushConnection());
        Check(nameof(PullConnection), PullConnection());
        Check(nameof(PushConnectionQueued), PushConnectionQueued());
        Check(nameof(PullConnectionQueued), PullConnectionQueued());
        Check(nameof(SpanSlicing), SpanSlicing());
        Check(nameof(StreamReadExactly), StreamReadExactly());
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Frames)]
    public long SequenceReader() => RunFramer(new ExactRule(FrameSize));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnection() => RunConnectionPush(reader => reader.Exactly(FrameSize));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnection() => RunConnectionPull(reader => reader.ReadChunksAsync().Exactly(FrameSize));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnectionQueued() => RunQueuedConnectionPush(reader => reader.Exactly(FrameSize));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnectionQueued() => RunQueuedConnectionPull(reader => reader.ReadChunksAsync().Exactly(FrameSize));

    /// <summary>The floor: slice each chunk's span, carry the straddling frame over.</summary>
    [Benchmark(OperationsPerInvoke = Frames)]
    public long SpanSlicing()
    {
        SpanFramer.Reset();
        foreach (var chunk in Chunks)
        {
            SpanFramer.FeedExact(chunk.Span, FrameSize);
        }

        return SpanFramer.Frames == Frames ? SpanFramer.Bytes : -1;
    }

    /// <summary>The BCL's fixed-size read: copies each frame into one reused buffer (so the frame is not owned).</summary>
    [Benchmark(OperationsPerInvoke = Frames)]
    public long StreamReadExactly()
    {
        using var stream = new BufferedStream(new MemoryStream(Input, writable: false), ChunkSize);
        long bytes = 0;
        for (var f = 0; f < Frames; f++)
        {
            stream.ReadExactly(_frameBuffer);
            bytes += _frameBuffer.Length;
        }

        return bytes;
    }
}
