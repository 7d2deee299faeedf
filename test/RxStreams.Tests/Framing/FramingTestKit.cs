using System.Reactive;
using System.Reactive.Subjects;
using System.Text;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Internal;

namespace RxStreams.Tests.Framing;

/// <summary>Shared helpers for the framing tests: byte/string conversion, marble assertions, synchronous runs.</summary>
internal static partial class FramingTestKit
{
    /// <summary>Latin-1 maps every byte to one char and back, so any byte string round-trips through <see cref="string"/>.</summary>
    public static ReadOnlyMemory<byte> B(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>Projects a frame to a value-equal string (ReadOnlyMemory equality compares backing memory, not content).</summary>
    public static string S(ReadOnlyMemory<byte> frame) => Encoding.Latin1.GetString(frame.Span);

    /// <summary>Shows control characters so that failure messages stay on one line.</summary>
    public static string Show(string text) =>
        "\"" + text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// Asserts recorded messages against expected ones, calling <c>expected.Equals(actual)</c> (the direction that
    /// makes <c>ReactiveTest.OnNext/OnError(ticks, predicate)</c> work), with a readable diff on failure.
    /// </summary>
    public static void AssertMessages<T>(IList<Recorded<Notification<T>>> actual, params Recorded<Notification<T>>[] expected)
    {
        bool equal = actual.Count == expected.Length && expected.Zip(actual).All(static p => p.First.Equals(p.Second));
        if (!equal)
        {
            Assert.Fail($"Messages differ.{Environment.NewLine}Expected:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", expected.Select(Format))}{Environment.NewLine}Actual:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", actual.Select(Format))}");
        }
    }

    /// <summary>Asserts the upstream subscriptions of a test observable.</summary>
    public static void AssertSubscriptions(IList<Subscription> actual, params Subscription[] expected) =>
        Assert.That(actual, Is.EqualTo(expected), "upstream subscriptions");

    private static string Format<T>(Recorded<Notification<T>> message)
    {
        var n = message.Value;
        if (n.GetType().Name.Contains("Predicate", StringComparison.Ordinal))
        {
            return $"{message.Time}: <predicate>";
        }

        return n.Kind switch
        {
            NotificationKind.OnNext => $"{message.Time}: OnNext({(n.Value is string s ? Show(s) : n.Value?.ToString())})",
            NotificationKind.OnError => $"{message.Time}: OnError({n.Exception?.GetType().Name}: {n.Exception?.Message}{Describe(n.Exception)})",
            _ => $"{message.Time}: OnCompleted()",
        };
    }

    private static string Describe(Exception? error) => error switch
    {
        IncompleteReadException e => $" Partial={Show(S(e.Partial))} Expected={e.Expected?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} Inner={e.InnerException?.GetType().Name ?? "null"}",
        LimitOverrunException e => $" Consumed={e.Consumed}",
        _ => string.Empty,
    };

    /// <summary>Predicate for an <see cref="IncompleteReadException"/> with the given data.</summary>
    public static Func<Exception, bool> Incomplete(string partial, long? expected) =>
        e => e is IncompleteReadException ire && S(ire.Partial) == partial && ire.Expected == expected && ire.InnerException is null;

    /// <summary>Predicate for a <see cref="LimitOverrunException"/> with the given <c>Consumed</c>.</summary>
    public static Func<Exception, bool> Overrun(long consumed) =>
        e => e is LimitOverrunException { Consumed: var c } && c == consumed;

    /// <summary>Predicate for asyncio's "Separator is found, but chunk is longer than limit" overrun.</summary>
    public static Func<Exception, bool> OverrunFound(long consumed) =>
        e => e is LimitOverrunException l && l.Consumed == consumed && l.Message.StartsWith("Separator is found", StringComparison.Ordinal);

    /// <summary>Predicate for asyncio's "Separator is not found, and chunk exceed the limit" overrun.</summary>
    public static Func<Exception, bool> OverrunNotFound(long consumed) =>
        e => e is LimitOverrunException l && l.Consumed == consumed && l.Message.StartsWith("Separator is not found", StringComparison.Ordinal);

    /// <summary>The null source for argument checks, typed so the extension methods bind.</summary>
    public static IObservable<ReadOnlyMemory<byte>> NullSource => null!;

    /// <summary>Runs an operator synchronously over the given chunks followed by completion.</summary>
    public static Outcome Run(Func<IObservable<ReadOnlyMemory<byte>>, IObservable<string>> op, IEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        var subject = new Subject<ReadOnlyMemory<byte>>();
        return Run(op, subject, () =>
        {
            foreach (var chunk in chunks)
            {
                subject.OnNext(chunk);
            }

            subject.OnCompleted();
        });
    }

    /// <summary>Runs an operator synchronously over <paramref name="source"/>, which <paramref name="drive"/> makes produce.</summary>
    public static Outcome Run(Func<IObservable<ReadOnlyMemory<byte>>, IObservable<string>> op, IObservable<ReadOnlyMemory<byte>> source, Action drive)
    {
        var frames = new List<string>();
        Exception? error = null;
        bool completed = false;
        using (op(source).Subscribe(frames.Add, e => error = e, () => completed = true))
        {
            drive();
        }

        return new Outcome(frames, completed, error);
    }
}

/// <summary>Pull-side runs for the same properties: the operators of <see cref="Framing.AsyncFramingExtensions"/>.</summary>
internal static partial class FramingTestKit
{
    /// <summary>Enumerates a pull operator over <paramref name="source"/> to its end or error (every wait bounded).</summary>
    public static Outcome RunPull(Func<IAsyncEnumerable<ReadOnlyMemory<byte>>, IAsyncEnumerable<string>> op, IAsyncEnumerable<ReadOnlyMemory<byte>> source)
    {
        var frames = new List<string>();
        Exception? error = null;
        bool completed = false;
        var frameEnumerator = op(source).GetAsyncEnumerator();
        try
        {
            while (Wait(frameEnumerator.MoveNextAsync()))
            {
                frames.Add(frameEnumerator.Current);
            }

            completed = true;
        }
        catch (Exception e)
        {
            error = e;
        }
        finally
        {
            frameEnumerator.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        }

        return new Outcome(frames, completed, error);
    }

    /// <summary>
    /// The pull sources for one cut of the input: copied, owned, a fed reader (asyncio's <c>feed_data</c>: everything fed
    /// is received at once), and the reader of an in-memory connection that receives one chunk per receive, as a socket
    /// would, so that a decode-ahead run meets the chunk boundaries. Dispose each owner after its source is read.
    /// </summary>
    public static IEnumerable<(string Name, IAsyncEnumerable<ReadOnlyMemory<byte>> Source, IAsyncDisposable? Owner)> PullSources(byte[] input, IReadOnlyList<int> cuts)
    {
        var show = $"[{string.Join(",", cuts)}]";
        yield return ($"pull{show}", AsyncChunks(Slices(input, cuts, fresh: true)), null);
        yield return ($"pull-owned{show}", new OwnedAsyncChunks(Slices(input, cuts, fresh: false)), null);
        yield return ($"pull-connection{show}", FedReader(Slices(input, cuts, fresh: true)).ReadChunksAsync(), null);
        var pair = QueuedPair(Slices(input, cuts, fresh: false));
        yield return ($"pull-pair{show}", pair.Server.Reader.ReadChunksAsync(), pair);
    }

    /// <summary>An in-memory pair with each chunk queued as one send from the client, then the client's end.</summary>
    public static ConnectionPair QueuedPair(IReadOnlyList<ReadOnlyMemory<byte>> chunks)
    {
        var pair = InMemoryConnection.CreatePair(transferCapacity: Math.Max(1, chunks.Sum(static c => c.Length)));
        foreach (var chunk in chunks)
        {
            pair.Client.Writer.Write(chunk.Span);
            pair.Client.Writer.DrainAsync().AsTask().GetAwaiter().GetResult(); // one send each
        }

        pair.Client.Writer.WriteEof();
        return pair;
    }

    /// <summary>A plain async sequence of the chunks, whose memory the operators must copy.</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> AsyncChunks(IEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        foreach (var chunk in chunks)
        {
            await Task.CompletedTask;
            yield return chunk;
        }
    }

    /// <summary>A reader fed with the chunks, then the end (asyncio's feed_data / feed_eof).</summary>
    public static ConnectionReader FedReader(IEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        var reader = new ConnectionReader();
        foreach (var chunk in chunks)
        {
            reader.FeedData(chunk.Span);
        }

        reader.FeedEof();
        return reader;
    }

    private static List<ReadOnlyMemory<byte>> Slices(byte[] input, IReadOnlyList<int> cuts, bool fresh)
    {
        var chunks = new List<ReadOnlyMemory<byte>>();
        int start = 0;
        foreach (int end in cuts.Append(input.Length))
        {
            chunks.Add(fresh ? input.AsSpan(start, end - start).ToArray() : input.AsMemory(start, end - start));
            start = end;
        }

        return chunks;
    }

    private static bool Wait(ValueTask<bool> next) =>
        next.IsCompleted ? next.GetAwaiter().GetResult() : next.AsTask().WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    /// <summary>An async sequence that says it emits owned, immutable memory, so the pull operators adopt its chunks.</summary>
    private sealed class OwnedAsyncChunks(IEnumerable<ReadOnlyMemory<byte>> chunks) : IAsyncEnumerable<ReadOnlyMemory<byte>>, IOwnedMemorySource
    {
        public bool EmitsOwnedMemory => true;

        public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            AsyncChunks(chunks).GetAsyncEnumerator(cancellationToken);
    }
}

/// <summary>What an operator did with one input: its frames, then completion or an error.</summary>
internal sealed record Outcome(IReadOnlyList<string> Frames, bool Completed, Exception? Error)
{
    /// <summary>The frames and the error's type and data, without <c>LimitOverrunException.Consumed</c> and messages.</summary>
    public string Shape
    {
        get
        {
            var end = Error switch
            {
                null => Completed ? "completed" : "not terminated",
                IncompleteReadException e => $"IncompleteRead(partial={FramingTestKit.Show(FramingTestKit.S(e.Partial))}, expected={e.Expected?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"})",
                var e => e.GetType().Name,
            };
            return $"[{string.Join(", ", Frames.Select(FramingTestKit.Show))}] {end}";
        }
    }

    /// <summary><see cref="LimitOverrunException.Consumed"/>, or null for any other ending.</summary>
    public long? Consumed => (Error as LimitOverrunException)?.Consumed;

    public override string ToString() => Consumed is { } c ? $"{Shape} consumed={c}" : Shape;
}

/// <summary>
/// A source that says it emits owned, immutable memory (as the library's own readers do), so framing operators adopt its
/// chunks without copying. Its chunks are contiguous slices of one array, or each in a fresh array.
/// </summary>
internal sealed class OwnedChunkSource(byte[] data, IReadOnlyList<int> cuts, bool contiguous) : IObservable<ReadOnlyMemory<byte>>, IOwnedMemorySource
{
    public bool EmitsOwnedMemory => true;

    public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
    {
        int start = 0;
        foreach (int end in cuts.Append(data.Length))
        {
            var chunk = contiguous ? new ReadOnlyMemory<byte>(data, start, end - start) : data.AsSpan(start, end - start).ToArray();
            observer.OnNext(chunk);
            start = end;
        }

        observer.OnCompleted();
        return System.Reactive.Disposables.Disposable.Empty;
    }
}
