namespace RxStreams.Cli;

/// <summary>
/// A TCP proxy written the way a user of RxStreams would write it: each direction is one
/// <c>reader.Subscribe(writer)</c>. Backpressure (a slow far side stops reading from the fast one), half-close (a
/// peer's EOF becomes our FIN on the other side) and resets (an error on one side aborts the other) all come from the
/// library's reader/writer semantics, not from code here.
/// </summary>
internal static class Proxy
{
    public static IDisposable Forward(StreamServer server, string toHost, int toPort, TextWriter log) =>
        server.Subscribe(inbound => _ = ConnectAsync(inbound, toHost, toPort, log));

    private static async Task ConnectAsync(StreamConnection inbound, string toHost, int toPort, TextWriter log)
    {
        StreamConnection outbound;
        try
        {
            outbound = await Streams.OpenConnectionAsync(toHost, toPort, new ConnectionOptions { ConnectTimeout = TimeSpan.FromSeconds(10) }).ConfigureAwait(false);
        }
        catch (Exception error) when (error is System.Net.Sockets.SocketException or IOException or AggregateException or TimeoutException)
        {
            log.WriteLine($"proxy: cannot reach {toHost}:{toPort}: {error.Message}");
            inbound.Abort();
            return;
        }

        inbound.Reader.Subscribe(outbound.Writer);
        outbound.Reader.Subscribe(inbound.Writer);

        // The pair lives and dies together: when one side is gone, the other is closed (flushed, then released).
        _ = inbound.Closed.ContinueWith(static (_, o) => ((StreamConnection)o!).Dispose(), outbound, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _ = outbound.Closed.ContinueWith(static (_, o) => ((StreamConnection)o!).Dispose(), inbound, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
