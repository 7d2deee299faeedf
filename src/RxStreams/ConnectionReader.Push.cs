using RxStreams.Internal;

namespace RxStreams;

/// <summary>The push side: the reader as a cold observable of received chunks.</summary>
public sealed partial class ConnectionReader
{
    /// <summary>
    /// Starts reading: every received chunk is one <c>OnNext</c>, the end of the input <c>OnCompleted</c>, an I/O error
    /// <c>OnError</c> (after every byte before it). Reading starts on the thread pool, never inside this call.
    /// </summary>
    /// <param name="observer">The consumer. If its <c>OnNext</c> throws, the connection is aborted with that error (it
    /// never reaches the server) and reading stops.</param>
    /// <returns>Disposing it stops reading promptly; bytes not yet delivered stay for the next consumer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="observer"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// While another consumer is active the observer gets <c>OnError(InvalidOperationException)</c>. After the input
    /// ended, a new subscriber gets what is left, then <c>OnCompleted</c> (or the error).
    /// </remarks>
    public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        PushSubscription? runAfter = null;
        if (!TryAcquire())
        {
            // Only a subscription that was disposed and is still winding down may be queued behind.
            runAfter = Volatile.Read(ref _lastPush);
            if (runAfter is not { IsDisposed: true, Completion.IsCompleted: false })
            {
                observer.OnError(ThrowHelper.CreateSecondConsumer());
                return PushSubscription.Nothing;
            }
        }

        var subscription = new PushSubscription(this, observer, runAfter);
        Volatile.Write(ref _lastPush, subscription);
        ThreadPool.UnsafeQueueUserWorkItem(subscription, preferLocal: false);
        return subscription;
    }

    /// <summary>One subscriber's read loop: receive, dispatch under a <see cref="WriteBatch"/>, wait for paused writers, repeat.</summary>
    private sealed class PushSubscription : IDisposable, IThreadPoolWorkItem
    {
        public static readonly IDisposable Nothing = new EmptyDisposable();

        private readonly ConnectionReader _reader;
        private readonly IObserver<ReadOnlyMemory<byte>> _observer;
        private readonly PushSubscription? _runAfter;
        private readonly CancellationTokenSource _cancellation = new();
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _disposed;

        public PushSubscription(ConnectionReader reader, IObserver<ReadOnlyMemory<byte>> observer, PushSubscription? runAfter)
        {
            _reader = reader;
            _observer = observer;
            _runAfter = runAfter;
        }

        public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

        public Task Completion => _completion.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _cancellation.Cancel();
            }
        }

        void IThreadPoolWorkItem.Execute() => _ = RunAsync();

        private async Task RunAsync()
        {
            var reader = _reader;
            var token = _cancellation.Token;
            bool acquired = _runAfter is null;
            try
            {
                if (!acquired)
                {
                    try
                    {
                        await reader.AcquireAfterAsync(_runAfter, token).ConfigureAwait(false);
                    }
                    catch (InvalidOperationException secondConsumer)
                    {
                        _observer.OnError(secondConsumer);
                        return;
                    }

                    acquired = true;
                }

                var batch = new WriteBatch();
                while (true)
                {
                    if (reader._buffer.Length == 0 && !await reader.FillAsync(token).ConfigureAwait(false))
                    {
                        token.ThrowIfCancellationRequested();
                        if (reader._error is { } error)
                        {
                            _observer.OnError(error);
                        }
                        else
                        {
                            _observer.OnCompleted();
                        }

                        return;
                    }

                    if (token.IsCancellationRequested)
                    {
                        return; // what was received stays buffered for the next consumer
                    }

                    var chunk = reader._buffer.Memory;
                    reader._buffer.Consume(chunk.Length);
                    batch.Enter();
                    try
                    {
                        _observer.OnNext(chunk);
                    }
                    finally
                    {
                        batch.Exit();
                    }

                    if (batch.HasPausedWriters)
                    {
                        await batch.WaitForPausedWritersAsync(token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Disposed: stop quietly; nothing was consumed that was not delivered.
            }
            catch (Exception handlerError)
            {
                // Only the observer (or a writer it drove) can throw here: its connection goes down, nothing else.
                reader._source.OnConsumerFault(handlerError);
            }
            finally
            {
                if (acquired)
                {
                    reader.Release();
                }

                // The token source is not disposed: a racing Dispose() may still cancel it, and it holds no timer.
                Dispose();
                _completion.TrySetResult();
            }
        }

        private sealed class EmptyDisposable : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
