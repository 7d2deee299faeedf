using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.InMemory;
using RxStreams.Framing;

namespace RxStreams.Benchmarks;

/// <summary>"\r\n"-terminated frames: <c>Until("\r\n")</c> vs SequenceReader's <c>TryReadTo(span)</c> vs <c>StreamReader.ReadLine</c>.</summary>
[MemoryDiagnoser]
[Config(typeof(FramingConfig))]
public class SeparatorFramingBenchmarks : FramingBenchmarkBase
{
    private static readonly byte[] CrLf = "\r\n"u8.ToArray();


    private protected override byte[] Terminator => CrLf;

    private protected override IObservable<ReadOnlyMemory<byte>> Frame(IObservable<ReadOnlyMemory<byte>> chunks) => chunks.Until(CrLf);

    [GlobalSetup]
    public void Setup()
    {
        BuildInput();
        Check(nameof(SequenceReader), SequenceReader());
        Check(nameof(RxOperator), RxOperator());
        Check(nameof(RxOperatorOwned), RxOperatorOwned());
        Check(nameof(RxOperatorAsOwned), RxOperatorAsOwned());
        Check(nameof(PushConnection), PushConnection());
        Check(nameof(PullConnection), PullConnection());
        Check(nameof(PushConnectionQueued), PushConnectionQueued());
        Check(nameof(PullConnectionQueued), PullConnectionQueued());
        Check(nameof(SpanIndexOf), SpanIndexOf());
        Check(nameof(StreamReader), StreamReader());
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Frames)]
    public long SequenceReader() => RunFramer(new SeparatorRule(CrLf));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnection() => RunConnectionPush(static reader => reader.Until(CrLf));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnection() => RunConnectionPull(static reader => reader.ReadChunksAsync().Until(CrLf));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnectionQueued() => RunQueuedConnectionPush(static reader => reader.Until(CrLf));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnectionQueued() => RunQueuedConnectionPull(static reader => reader.ReadChunksAsync().Until(CrLf));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long SpanIndexOf() => RunSpanFramer(CrLf);

    [Benchmark(OperationsPerInvoke = Frames)]
    public long StreamReader()
    {
        using var reader = new System.IO.StreamReader(new MemoryStream(Input, writable: false), Utf8NoBom, detectEncodingFromByteOrderMarks: false, ChunkSize);
        long bytes = 0;
        while (reader.ReadLine() is { } line)
        {
            bytes += line.Length + 2; // ReadLine drops the "\r\n"
        }

        return bytes;
    }
}
