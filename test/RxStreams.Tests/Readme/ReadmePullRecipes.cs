using RxStreams.Framing;

namespace RxStreams.Tests.Readme;

/// <summary>
/// The pull-side LINQ recipes of the README, verbatim, so that they compile and are tested. Only <c>using RxStreams;</c>
/// (and the implicit <c>using System.Linq;</c>) are needed: async LINQ comes from .NET's <c>System.Linq.AsyncEnumerable</c>
/// and Ix's <c>AsyncEnumerableEx</c> (System.Interactive.Async, which RxStreams references).
/// </summary>
internal static class ReadmePullRecipes
{
    // --- README: request/response with a timeout, pull style ---
    /// <summary>Sends one line and returns the next line received; null if the peer closed; TimeoutException after <paramref name="timeout"/>.</summary>
    public static async Task<string?> AskAsync(StreamConnection connection, string request, TimeSpan timeout, CancellationToken ct = default)
    {
        connection.Writer.WriteLine(request);
        return await connection.Reader.ReadLinesTextAsync(cancellationToken: ct)
            .Timeout(timeout)               // Ix: TimeoutException when no line comes in time (the read is cancelled, nothing consumed)
            .FirstOrDefaultAsync(ct);       // the reply; null if the peer closed first
    }

    // --- README: merging lines from many connections ---
    /// <summary>Every line of every connection, tagged with its sender, as they arrive; ends when all have ended.</summary>
    public static IAsyncEnumerable<(StreamConnection From, string Line)> MergeLines(IEnumerable<StreamConnection> connections) =>
        connections
            .Select(connection => connection.Reader.ReadLinesTextAsync().Select(line => (connection, line)))
            .Merge(); // Ix: one pending read per connection, so each is read only as fast as the loop takes lines

    // --- README: a slow async consumer of push frames, with backpressure ---
    /// <summary>Stores every length-prefixed record; the reader waits while a store is in progress.</summary>
    public static Task StoreAllAsync(StreamConnection connection, Func<ReadOnlyMemory<byte>, CancellationToken, Task> storeAsync, CancellationToken ct = default) =>
        connection.Reader.LengthPrefixed().ForEachAwaitAsync(storeAsync, ct);
}
