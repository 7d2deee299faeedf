using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.InMemory;
using RxStreams.Framing;

namespace RxStreams.Benchmarks;

// Length-prefixed frames, in the layout LengthPrefixed() reads with its defaults (LengthFieldOptions.Default): a 4-byte
// big-endian length of the payload (not counting the header), then the payload; every variant hands back the payload,
// header stripped, so the total checked is Frames * (FrameSize - 4). FrameSize is the whole frame on the wire, header
// included, with the same Params as the other framing classes (16 B is a 12-byte payload). Frames and headers straddle
// chunks as the cut falls. The variants are those of FramingBenchmarkBase.cs: SequenceReader (baseline, TryReadBigEndian +
// TryReadExact), SpanSlicing (the floor), RxOperator (a user's observable, copied once), RxOperatorOwned (a connection's
// reader, adopted), and StreamReadExactly (the BCL: header then payload into a reused buffer).

/// <summary>
/// Length-prefixed frames: <c>LengthPrefixed()</c> vs SequenceReader's <c>TryReadBigEndian</c> + <c>TryReadExact</c>
/// vs <c>Stream.ReadExactly</c> of header and payload into a reused buffer.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(FramingConfig))]
public class LengthPrefixedFramingBenchmarks : FramingBenchmarkBase
{
    /// <summary>The longest frame every variant accepts, header included: the operator's default maximum.</summary>
    private const int MaxFrameLength = FramingExtensions.DefaultLimit;

    private byte[] _frameBuffer = [];

    private protected override byte[] Terminator => [];

    private protected override IObservable<ReadOnlyMemory<byte>> Frame(IObservable<ReadOnlyMemory<byte>> chunks) => chunks.LengthPrefixed();

    private protected override int HeaderLength => LengthPrefixRule.HeaderLength;

    private protected override long ExpectedBytes => (long)Frames * (FrameSize - HeaderLength);

    private protected override void WriteHeader(Span<byte> header, int payloadLength) =>
        BinaryPrimitives.WriteInt32BigEndian(header, payloadLength);

    [GlobalSetup]
    public void Setup()
    {
        BuildInput();
        _frameBuffer = new byte[FrameSize];
        Check(nameof(SequenceReader), SequenceReader());
        Check(nameof(RxOperator), RxOperator());
        Check(nameof(RxOperatorOwned), RxOperatorOwned());
        Check(nameof(RxOperatorAsOwned), RxOperatorAsOwned());
        Check(nameof(PullOperator), PullOperator());
        Check(nameof(PullOperatorOwned), PullOperatorOwned());
        Check(nameof(PullOperatorAsOwned), PullOperatorAsOwned());
        Check(nameof(PushConnection), PushConnection());
        Check(nameof(PullConnection), PullConnection());
        Check(nameof(PushConnectionQueued), PushConnectionQueued());
        Check(nameof(PullConnectionQueued), PullConnectionQueued());
        Check(nameof(SpanSlicing), SpanSlicing());
        Check(nameof(StreamReadExactly), StreamReadExactly());

        // Counts and totals would not notice a header left on one frame and a payload byte missing from the next, so the
        // operator's frames are also compared with the payloads, byte for byte (once, outside the measured loop).
        CheckPayloads(nameof(RxOperator), CopiedFrames);
        CheckPayloads(nameof(RxOperatorOwned), OwnedFrames);
        CheckPayloads(nameof(RxOperatorAsOwned), AsOwnedFrames);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Frames)]
    public long SequenceReader() => RunFramer(new LengthPrefixRule(MaxFrameLength));

    /// <summary>The floor: read each header from the chunk's span and slice the payload, carrying the straddling frame over.</summary>
    [Benchmark(OperationsPerInvoke = Frames)]
    public long SpanSlicing()
    {
        SpanFramer.Reset();
        foreach (var chunk in Chunks)
        {
            SpanFramer.FeedLengthPrefixed(chunk.Span, MaxFrameLength);
        }

        return SpanFramer.Frames == Frames ? SpanFramer.Bytes : -1;
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullOperator() => RunPull(new AsyncChunkSource(Chunks).LengthPrefixed());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullOperatorOwned() => RunPull(new OwnedAsyncChunkSource(Chunks).LengthPrefixed());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullOperatorAsOwned() => RunPull(new AsyncChunkSource(Chunks).AsOwned().LengthPrefixed());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnection() => RunConnectionPush(static reader => reader.LengthPrefixed());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnection() => RunConnectionPull(static reader => reader.ReadChunksAsync().LengthPrefixed());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PushConnectionQueued() => RunQueuedConnectionPush(static reader => reader.LengthPrefixed());

    [Benchmark(OperationsPerInvoke = Frames)]
    public long PullConnectionQueued() => RunQueuedConnectionPull(static reader => reader.ReadChunksAsync().LengthPrefixed());

    /// <summary>The BCL's way: read the header, then the payload into one reused buffer (so the frame is not owned).</summary>
    [Benchmark(OperationsPerInvoke = Frames)]
    public long StreamReadExactly()
    {
        using var stream = new BufferedStream(new MemoryStream(Input, writable: false), ChunkSize);
        Span<byte> header = stackalloc byte[LengthPrefixRule.HeaderLength];
        long bytes = 0;
        for (var f = 0; f < Frames; f++)
        {
            stream.ReadExactly(header);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (length > (uint)(MaxFrameLength - header.Length))
            {
                throw new InvalidDataException($"The frame announces {length} payload bytes, more than the maximum of {MaxFrameLength - header.Length}.");
            }

            stream.ReadExactly(_frameBuffer.AsSpan(0, (int)length));
            bytes += length;
        }

        return bytes;
    }

    private void CheckPayloads(string variant, IObservable<ReadOnlyMemory<byte>> framed)
    {
        var frame = 0;
        var payloadLength = FrameSize - HeaderLength;
        using var subscription = framed.Subscribe(
            payload =>
            {
                var expected = Input.AsSpan((frame * FrameSize) + HeaderLength, payloadLength);
                if (!payload.Span.SequenceEqual(expected))
                {
                    throw new InvalidOperationException($"{variant}: frame {frame} is not the payload sent (FrameSize {FrameSize}, ChunkSize {ChunkSize}).");
                }

                frame++;
            },
            error => throw new InvalidOperationException($"{variant} failed.", error));
        if (frame != Frames)
        {
            throw new InvalidOperationException($"{variant} emitted {frame} frames of {Frames}.");
        }
    }
}
