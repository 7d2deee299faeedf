namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// Runs N connection loops at once and fails fast: the first failure cancels the others, and the error
/// reported is that first real failure, not the cancellations it caused.
/// </summary>
internal static class ConcurrentRuns
{
    public static async Task<T[]> RunAsync<T>(int count, Func<int, CancellationToken, Task<T>> run, CancellationToken cancellationToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new Task<T>[count];
        for (var i = 0; i < count; i++)
        {
            tasks[i] = RunOneAsync(i);
        }

        try
        {
            return await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A cancellation we caused ourselves: surface the failure that triggered it.
            var cause = tasks.FirstOrDefault(t => t.IsFaulted && t.Exception!.InnerException is not OperationCanceledException);
            if (cause is not null)
            {
                await cause;
            }

            throw;
        }

        async Task<T> RunOneAsync(int index)
        {
            try
            {
                return await run(index, failed.Token);
            }
            catch
            {
                await failed.CancelAsync();
                throw;
            }
        }
    }
}
