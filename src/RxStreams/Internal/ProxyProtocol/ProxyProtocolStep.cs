using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxStreams.Internal;

/// <summary>
/// The server's setup step for <see cref="ServerOptions.ProxyProtocol"/>: reads the header through the connection's own
/// reader (so whatever follows it stays buffered for the handler, or for a TLS handshake that runs next), under a
/// deadline on the options' scheduler, and records it on the connection so the connection reports the client's endpoints.
/// </summary>
internal static class ProxyProtocolStep
{
    /// <summary>The step, with the options' values captured now (later changes to the options do not affect the server).</summary>
    public static ConnectionSetupStep Create(ServerOptions options)
    {
        var scheduler = options.Scheduler;
        var timeout = options.ProxyProtocolTimeout;
        int maxHeaderLength = options.ProxyProtocolMaxHeaderLength;
        return (connection, cancellationToken) => Tracing.ProxyHeaderAsync(
            Tracing.StartProxyHeader(connection), connection, ReadHeaderAsync(connection, scheduler, timeout, maxHeaderLength, cancellationToken));
    }

    private static async ValueTask ReadHeaderAsync(StreamConnection connection, IScheduler scheduler, TimeSpan timeout, int maxHeaderLength, CancellationToken cancellationToken)
    {
        // The timer cancels a source of its own, never disposed: a timer firing while this method ends must not find it
        // disposed. Only the linked source, which registers on the caller's token, is disposed.
        var expired = new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expired.Token);
        var timer = timeout == Timeout.InfiniteTimeSpan
            ? Disposable.Empty
            : scheduler.Schedule(expired, timeout, static (_, source) =>
            {
                source.Cancel();
                return Disposable.Empty;
            });
        try
        {
            var frames = connection.Reader.ReadFramesAsync(new ProxyProtocolDecoder(maxHeaderLength), linked.Token).GetAsyncEnumerator(linked.Token);
            await using (frames.ConfigureAwait(false))
            {
                // The decoder yields exactly one header or throws (at the end of the input too), so MoveNext is never false.
                if (!await frames.MoveNextAsync().ConfigureAwait(false))
                {
                    throw new ProxyProtocolException("The connection ended before a PROXY protocol header arrived.");
                }

                connection.Core.AttachProxyHeader(frames.Current);
            }
        }
        catch (OperationCanceledException) when (expired.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"No complete PROXY protocol header from {PeerText.Escape(connection.Core.Identity.Remote)} within {timeout} (ServerOptions.ProxyProtocolTimeout).");
        }
        catch (ProxyProtocolException error)
        {
            throw new ProxyProtocolException($"Refused the connection from {PeerText.Escape(connection.Core.Identity.Remote)}: {error.Message}", error);
        }
        finally
        {
            timer.Dispose();
        }
    }
}
