using System.Text;
using BenchmarkDotNet.Attributes;
using RxStreams.Benchmarks.InMemory;
using RxStreams.Framing;

namespace RxStreams.Benchmarks;

// Framing micro-benchmarks: in memory, one thread, no sockets. Each class frames the same pre-built input, cut into
// ChunkSize pieces regardless of frame boundaries, with (note: every FrameSize below divides every ChunkSize, so in
// these Params no frame actually straddles two chunks; the straddling paths are exercised, and checked by Setup, with
// an odd size through --framing, e.g. `--framing LengthPrefixedFramingBenchmarks RxOperatorOwned 1024 4000`):
//   - SequenceReader (baseline): a hand-written PipeReader-style consumer over the same chunks (InMemory/SequenceFramer);
//   - RxOperator: the RxStreams operator subscribed to a plain synchronous observable of the chunks (a user's own
//     source: the operator copies each chunk once into memory the frames can own);
//   - RxOperatorOwned: the same, but the source is marked as emitting owned memory, as a connection's reader is, so the
//     operator adopts the chunks without copying (the path of connection.Reader.Lines());
//   - RxOperatorAsOwned / PullOperatorAsOwned: a user's own source marked with the public AsOwned() (the caller promises
//     the chunks are never rewritten), which takes the adopting path of the row above without any internal interface;
//   - PullOperator / PullOperatorOwned: the same operators on IAsyncEnumerable (AsyncFramingExtensions) over a pull
//     source of the same chunks, copied or adopted;
//   - PushConnection / PullConnection: framing over a connection, an in-memory pair whose other end writes the chunks:
//     reader.Lines() subscribed vs reader.ReadChunksAsync().Lines() enumerated (and, for lines, PullReadLines:
//     reader.ReadLinesAsync()); they include the pair and the transfer, so they compare with each other, not with the
//     rows above; PushConnectionQueued / PullConnectionQueued queue the whole input in the pair first, so the reader
//     never races the writer's thread (both pay the same writes, before the reader starts);
//   - SpanIndexOf: the floor, a hand-tuned IndexOf loop over each chunk's span with a carry-over buffer for the frame
//     that straddles two chunks; its frames are transient spans, not owned memory (InMemory/SpanFramer);
//   - StreamReader / Stream: the BCL's way over a MemoryStream of the same bytes (strings per line; a reused buffer).
// One operation is one frame (OperationsPerInvoke = Frames), so Mean is time per frame and Allocated bytes per frame;
// MB/s is FrameSize / Mean. The chunks live in one contiguous array, so owned adoption never has to copy.
// Classes, one per file: LineFramingBenchmarks and SeparatorFramingBenchmarks (a terminator ends each frame),
// ExactFramingBenchmarks (neither), and LengthPrefixedFramingBenchmarks (a header starts each frame; they emit the
// payload, so they expect fewer bytes back).

/// <summary>Input building, parameters and result checks shared by the framing benchmarks.</summary>
public abstract class FramingBenchmarkBase
{
    /// <summary>Frames per invocation; every variant frames all of them.</summary>
    public const int Frames = 16_384;

    private protected static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Frame length in bytes, terminator or header included.</summary>
    [ParamsSource(nameof(FrameSizes))]
    public int FrameSize { get; set; }

    /// <summary>How the input is cut into chunks (a receive's worth each).</summary>
    [ParamsSource(nameof(ChunkSizes))]
    public int ChunkSize { get; set; }

    /// <summary>16, 64 and 1024, or the comma-separated sizes in RXSTREAMS_FRAME_SIZES (to run fewer cases on a busy machine).</summary>
    public static IEnumerable<int> FrameSizes => SizesFromEnvironment("RXSTREAMS_FRAME_SIZES", [16, 64, 1024]);

    /// <summary>4096 and 65536, or the comma-separated sizes in RXSTREAMS_CHUNK_SIZES.</summary>
    public static IEnumerable<int> ChunkSizes => SizesFromEnvironment("RXSTREAMS_CHUNK_SIZES", [4096, 65536]);

    private static int[] SizesFromEnvironment(string variable, int[] defaults) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } sizes
            ? [.. sizes.Split(',').Select(size => int.Parse(size, System.Globalization.CultureInfo.InvariantCulture))]
            : defaults;

    private protected byte[] Input { get; private set; } = [];

    private protected ReadOnlyMemory<byte>[] Chunks { get; private set; } = [];

    private protected SequenceFramer Framer { get; } = new();

    private protected CountingObserver Observer { get; } = new();

    private protected SpanFramer SpanFramer { get; } = new();

    /// <summary>What ends each frame (empty for fixed-length frames).</summary>
    private protected abstract byte[] Terminator { get; }

    /// <summary>How many bytes of header start each frame (0 unless the subclass writes one with <see cref="WriteHeader"/>).</summary>
    private protected virtual int HeaderLength => 0;

    /// <summary>The bytes all the variants must hand back in total: every byte of the input unless they strip something.</summary>
    private protected virtual long ExpectedBytes => Input.Length;

    /// <summary>Fills the <see cref="HeaderLength"/> bytes that start a frame whose payload is <paramref name="payloadLength"/> bytes.</summary>
    private protected virtual void WriteHeader(Span<byte> header, int payloadLength)
    {
    }

    private protected void BuildInput()
    {
        var terminator = Terminator;
        Input = new byte[(long)Frames * FrameSize];
        for (var f = 0; f < Frames; f++)
        {
            var frame = Input.AsSpan(f * FrameSize, FrameSize);
            var payload = frame[HeaderLength..^terminator.Length];
            for (var i = 0; i < payload.Length; i++)
            {
                payload[i] = (byte)('A' + ((f + i) % 26));
            }

            WriteHeader(frame[..HeaderLength], payload.Length);
            terminator.CopyTo(frame[^terminator.Length..]);
        }

        var chunks = new List<ReadOnlyMemory<byte>>();
        for (var offset = 0; offset < Input.Length; offset += ChunkSize)
        {
            chunks.Add(Input.AsMemory(offset, Math.Min(ChunkSize, Input.Length - offset)));
        }

        Chunks = [.. chunks];
        CopiedFrames = Frame(new ChunkSource(Chunks));
        OwnedFrames = Frame(new OwnedChunkSource(Chunks));
        AsOwnedFrames = Frame(new ChunkSource(Chunks).AsOwned());
    }

    /// <summary>The framing operator the class measures, over a push source of chunks.</summary>
    private protected abstract IObservable<ReadOnlyMemory<byte>> Frame(IObservable<ReadOnlyMemory<byte>> chunks);

    /// <summary>The operator over a user's own observable: each chunk is copied into memory the frames can own.</summary>
    private protected IObservable<ReadOnlyMemory<byte>> CopiedFrames { get; private set; } = null!;

    /// <summary>The operator over a source known to emit owned memory, as a connection's reader does.</summary>
    private protected IObservable<ReadOnlyMemory<byte>> OwnedFrames { get; private set; } = null!;

    /// <summary>The operator over a user's own observable marked with <c>AsOwned()</c>.</summary>
    private protected IObservable<ReadOnlyMemory<byte>> AsOwnedFrames { get; private set; } = null!;

    [Benchmark(OperationsPerInvoke = Frames)]
    public long RxOperator() => RunObserver(CopiedFrames);

    [Benchmark(OperationsPerInvoke = Frames)]
    public long RxOperatorOwned() => RunObserver(OwnedFrames);

    [Benchmark(OperationsPerInvoke = Frames)]
    public long RxOperatorAsOwned() => RunObserver(AsOwnedFrames);

    /// <summary>Runs a variant once and checks it framed every byte into the right number of frames.</summary>
    private protected void Check(string variant, long bytes)
    {
        if (bytes != ExpectedBytes)
        {
            throw new InvalidOperationException($"{variant} framed {bytes} bytes of {ExpectedBytes} (FrameSize {FrameSize}, ChunkSize {ChunkSize}).");
        }
    }

    private protected long RunObserver(IObservable<ReadOnlyMemory<byte>> framed)
    {
        Observer.Reset();
        framed.Subscribe(Observer).Dispose();
        return Observer.Frames == Frames ? Observer.Bytes : -1;
    }

    /// <summary>Enumerates a pull framer to its end (its sources complete every step at once, so this never blocks).</summary>
    private protected static long RunPull(IAsyncEnumerable<ReadOnlyMemory<byte>> framed)
    {
        long frames = 0, bytes = 0;
        var frame = framed.GetAsyncEnumerator();
        while (Next(frame.MoveNextAsync()))
        {
            frames++;
            bytes += frame.Current.Length;
        }

        frame.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return frames == Frames ? bytes : -1;

        static bool Next(ValueTask<bool> next) => next.IsCompletedSuccessfully ? next.Result : next.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// Push framing over a connection: an in-memory pair whose client writes the chunks (draining after each) and then
    /// half-closes, while <paramref name="frame"/>'s operator, subscribed to the server's reader, counts the frames.
    /// </summary>
    private protected long RunConnectionPush(Func<ConnectionReader, IObservable<ReadOnlyMemory<byte>>> frame)
    {
        var pair = InMemoryConnection.CreatePair();
        var observer = new CompletionObserver();
        using (frame(pair.Server.Reader).Subscribe(observer))
        {
            var writing = WriteAllAsync(pair.Client.Writer);
            observer.Done.Wait();
            writing.GetAwaiter().GetResult();
        }

        pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return observer.Counter.Frames == Frames ? observer.Counter.Bytes : -1;
    }

    /// <summary>Pull framing over a connection: the same pair, the frames enumerated from the server's reader.</summary>
    private protected long RunConnectionPull(Func<ConnectionReader, IAsyncEnumerable<ReadOnlyMemory<byte>>> frame)
    {
        var pair = InMemoryConnection.CreatePair();
        var writing = WriteAllAsync(pair.Client.Writer);
        // Awaited inside the pool, as the push read loop runs, rather than blocking this thread at every receive.
        long bytes = Task.Run(() => RunPullAsync(frame(pair.Server.Reader))).GetAwaiter().GetResult();
        writing.GetAwaiter().GetResult();
        pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return bytes;
    }

    /// <summary>
    /// <see cref="RunConnectionPush"/> with the whole input queued in the pair before the operator subscribes: the
    /// framing over a connection's reader without the writer's thread racing it (both variants pay the same writes).
    /// </summary>
    private protected long RunQueuedConnectionPush(Func<ConnectionReader, IObservable<ReadOnlyMemory<byte>>> frame)
    {
        var pair = QueuedPair();
        var observer = new CompletionObserver();
        using (frame(pair.Server.Reader).Subscribe(observer))
        {
            observer.Done.Wait();
        }

        pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return observer.Counter.Frames == Frames ? observer.Counter.Bytes : -1;
    }

    /// <summary><see cref="RunConnectionPull"/> with the whole input queued first, as <see cref="RunQueuedConnectionPush"/>.</summary>
    private protected long RunQueuedConnectionPull(Func<ConnectionReader, IAsyncEnumerable<ReadOnlyMemory<byte>>> frame)
    {
        var pair = QueuedPair();
        long bytes = Task.Run(() => RunPullAsync(frame(pair.Server.Reader))).GetAwaiter().GetResult();
        pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return bytes;
    }

    private ConnectionPair QueuedPair()
    {
        var pair = InMemoryConnection.CreatePair(transferCapacity: Input.Length);
        foreach (var chunk in Chunks)
        {
            // A chunk per send, as WriteAllAsync sends them (one large send would be one array on the large-object heap).
            pair.Client.Writer.Write(chunk.Span);
            pair.Client.Writer.DrainAsync().AsTask().GetAwaiter().GetResult();
        }

        pair.Client.Writer.WriteEof();
        return pair;
    }

    private static async Task<long> RunPullAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> framed)
    {
        long frames = 0, bytes = 0;
        await foreach (var frame in framed.ConfigureAwait(false))
        {
            frames++;
            bytes += frame.Length;
        }

        return frames == Frames ? bytes : -1;
    }

    private Task WriteAllAsync(ConnectionWriter writer) => Task.Run(async () =>
    {
        foreach (var chunk in Chunks)
        {
            writer.Write(chunk.Span);
            await writer.DrainAsync();
        }

        writer.WriteEof();
    });

    /// <summary>Counts like <see cref="CountingObserver"/> and signals the end (a reader pushes from the thread pool).</summary>
    private sealed class CompletionObserver : IObserver<ReadOnlyMemory<byte>>
    {
        public CountingObserver Counter { get; } = new();

        public ManualResetEventSlim Done { get; } = new();

        public void OnNext(ReadOnlyMemory<byte> value) => Counter.OnNext(value);

        public void OnError(Exception error)
        {
            Done.Set();
            throw new InvalidOperationException("The framing operator failed.", error);
        }

        public void OnCompleted() => Done.Set();
    }

    private protected long RunFramer<TRule>(TRule rule)
        where TRule : struct, IFrameRule
    {
        Framer.Reset();
        foreach (var chunk in Chunks)
        {
            Framer.Feed(chunk, rule);
        }

        return Framer.Frames == Frames ? Framer.Bytes : -1;
    }

    private protected long RunSpanFramer(byte[] separator)
    {
        SpanFramer.Reset();
        foreach (var chunk in Chunks)
        {
            SpanFramer.FeedSeparated(chunk.Span, separator);
        }

        return SpanFramer.Frames == Frames ? SpanFramer.Bytes : -1;
    }
}
