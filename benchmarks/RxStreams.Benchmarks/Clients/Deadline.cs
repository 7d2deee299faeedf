namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// Bounds a client run in time: a stuck server (lost bytes, a deadlock) must fail the run with a clear
/// <see cref="TimeoutException"/> instead of hanging a benchmark or the smoke test forever.
/// </summary>
internal static class Deadline
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <paramref name="run"/> with a token cancelled after <paramref name="timeout"/> or by the caller,
    /// and reports a timeout (not a caller cancellation) as <see cref="TimeoutException"/>.
    /// </summary>
    public static async Task<T> RunAsync<T>(string what, TimeSpan timeout, Func<CancellationToken, Task<T>> run, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            return await run(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{what} did not finish within {timeout.TotalSeconds:0.#} s.");
        }
    }
}
