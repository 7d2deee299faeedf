using System.Reactive.Linq;

namespace RxStreams.Internal.Connect;

/// <summary>
/// The cold connect observable: each subscription opens one connection, emits it, and completes when that connection
/// is over for its consumer — a read found the end of the input (the peer closed), or the connection closed.
/// </summary>
/// <remarks>
/// Waiting for <see cref="StreamConnection.Closed"/> alone was not enough: a peer's EOF leaves the connection open
/// (half-closed) until our side closes too, so <c>Connect(...).SelectMany(c => c.Reader.Lines())</c> never completed
/// after the server closed. Completing disposes the subscription, which closes the connection gracefully (what was
/// written is still sent).
/// </remarks>
internal static class ColdConnect
{
    public static IObservable<StreamConnection> Create(Func<CancellationToken, Task<StreamConnection>> open) =>
        Observable.Create<StreamConnection>(async (observer, cancellationToken) =>
        {
            var connection = await open(cancellationToken).ConfigureAwait(false);
            observer.OnNext(connection);
            _ = Task.WhenAny(connection.Closed, connection.Reader.InputEndSeen).ContinueWith(
                static (_, state) => ((IObserver<StreamConnection>)state!).OnCompleted(),
                observer,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return connection;
        });
}
