namespace RxStreams.Internal.Servers;

/// <summary>
/// The subscriber behind <see cref="StreamServer.Serve"/>: runs the asyncio-style callback for each connection and ties
/// the connection's life to it (closed when the handler ends, aborted and reported when it throws).
/// </summary>
internal sealed class HandlerObserver(StreamServer server, Func<ConnectionReader, ConnectionWriter, Task> handler) : IObserver<StreamConnection>
{
    public void OnNext(StreamConnection value) => _ = RunAsync(value);

    public void OnError(Exception error)
    {
    }

    public void OnCompleted()
    {
    }

    private async Task RunAsync(StreamConnection connection)
    {
        await Task.Yield(); // off the accept loop: a handler's synchronous start must not delay accepting
        try
        {
            await handler(connection.Reader, connection.Writer).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A cancelled handler (close was requested, or its own token fired) is a normal end: asyncio 3.13 closes a
            // cancelled handler's transport gracefully and reports nothing (test_unhandled_cancel).
        }
        catch (Exception error)
        {
            connection.Core.Fail(error);
            server.OnHandlerError(connection.RemoteEndPoint, error);
            return;
        }

        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
