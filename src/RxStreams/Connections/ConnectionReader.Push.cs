using RxStreams.Internal;

namespace RxStreams;

// The push side: the reader as a cold observable of received chunks. The type's docs are in ConnectionReader.cs; the
// subscription's lifecycle is tabled in docs/contract.md ("A reader subscription").
public sealed partial class ConnectionReader
{
    /// <summary>
    /// Starts reading: every received chunk is one <c>OnNext</c>, the end of the input <c>OnCompleted</c>, an I/O error
    /// <c>OnError</c> (after every byte before it). Reading starts on the thread pool, never inside this call.
    /// </summary>
    /// <param name="observer">The consumer. If it throws, the connection is aborted with that error, which goes to its
    /// server's <see cref="StreamServer.Errors"/> and log (never takes the server down), and reading stops.</param>
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
            // Only a subscription that was disposed and is still winding down may be queued behind. Its completion is
            // read once: it can finish between two reads, and a decision made on two different answers refused a
            // consumer that came after a clean dispose.
            runAfter = Volatile.Read(ref _lastPush);
            bool refused = runAfter is not { IsDisposed: true };
            if (!refused && runAfter!.IsCompleted)
            {
                // It released the reader (before completing) just after our first try: the reader is free unless
                // someone else took it meanwhile.
                refused = !TryAcquire();
                runAfter = null;
            }

            if (refused)
            {
                observer.OnError(ThrowHelper.CreateSecondConsumer());
                return PushSubscription.Nothing;
            }
        }

        var subscription = new PushSubscription(this, observer, runAfter);
        Volatile.Write(ref _lastPush, subscription);
        // Local queue: a server's accept loop subscribes and then parks in its next accept, so this thread usually runs
        // the read loop next itself instead of waking another worker for every new connection.
        WorkQueue.Queue(_workQueue, subscription);
        return subscription;
    }

    /// <summary>One subscriber's read loop: receive, dispatch under a <see cref="WriteBatch"/>, wait for paused writers, repeat.</summary>
    private sealed class PushSubscription : IDisposable, IThreadPoolWorkItem
    {
        public static readonly IDisposable Nothing = new EmptyDisposable();

        private readonly ConnectionReader _reader;
        private readonly IObserver<ReadOnlyMemory<byte>> _observer;
        private readonly PushSubscription? _runAfter;
        private readonly IChunkConsumer? _copier; // the observer, when it copies every chunk (a writer, or Lines() into one)
        private readonly ReceiveStrategy _strategy; // Pooled for a copier: its arrays go back to the pool
        private LazyCompletion _completion;
        private LazyCompletion _stopped;
        private int _disposed;

        public PushSubscription(ConnectionReader reader, IObserver<ReadOnlyMemory<byte>> observer, PushSubscription? runAfter)
        {
            _reader = reader;
            _observer = observer;
            _copier = ChunkLease.CopierOf(observer);
            _strategy = ChunkLease.StrategyFor(_copier);
            _runAfter = runAfter;
        }

        public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

        public Task Completion => _completion.Task;

        public bool IsCompleted => _completion.IsCompleted;

        /// <summary>
        /// Stops delivering at once. A pending wait is a zero-byte wait, which consumes nothing, so it is not cancelled:
        /// it ends when data arrives (which stays buffered for the next consumer) or the connection closes. A consumer
        /// that comes next waits for that, as it would have waited for data anyway.
        /// </summary>
        public void Dispose()
        {
            Volatile.Write(ref _disposed, 1);
            _stopped.Complete(); // ends a wait for paused writers: it must not outlive the subscription
        }

        void IThreadPoolWorkItem.Execute() => _ = _runAfter is null ? RunAsync() : RunAfterAsync();

        /// <summary>Waits for the disposed subscription before this one to wind down, then runs (kept out of <see cref="RunAsync"/> so the hot loop's state machine stays small).</summary>
        private async Task RunAfterAsync()
        {
            try
            {
                await _reader.AcquireAfterAsync(_runAfter, CancellationToken.None).ConfigureAwait(false);
            }
            catch (InvalidOperationException secondConsumer)
            {
                Dispose();
                _completion.Complete();
                try
                {
                    _observer.OnError(secondConsumer);
                }
                catch (Exception observerError)
                {
                    // An observer without an error handler rethrows: nobody awaits this work item, so report it.
                    _reader._source.OnConsumerFault(observerError);
                }

                return;
            }

            await RunAsync().ConfigureAwait(false);
        }

        /// <summary>
        /// Waits until the writers this dispatch filled drop to their low-water marks, or until this subscription is
        /// disposed or its own connection closes: a slow peer of another connection must never wedge this one.
        /// </summary>
        private async Task WaitForPausedWritersAsync(WriteBatch batch)
        {
            var drained = batch.WaitForPausedWritersAsync();
            if (drained.IsCompleted)
            {
                await drained.ConfigureAwait(false);
                return;
            }

            var drainedTask = drained.AsTask();
            var stopped = _reader._source.Stopped;
            long pausedAt = Metrics.ReaderPausing(); // only here: a dispatch whose writers drained at once was not paused
            await (stopped is null
                ? Task.WhenAny(drainedTask, _stopped.Task)
                : Task.WhenAny(drainedTask, _stopped.Task, stopped)).ConfigureAwait(false);
            Metrics.ReaderResumed(pausedAt);
        }

        /// <summary>The read loop; the reader is already acquired.</summary>
        private async Task RunAsync()
        {
            var reader = _reader;
            try
            {
                while (!IsDisposed)
                {
                    if (reader._buffer.Length == 0)
                    {
                        int received = reader.TryFill(_strategy);
                        if (received < 0)
                        {
                            // The only await of an idle connection: no buffer, no token registration, no extra state machine.
                            // A failed wait needs no handling: the next TryFill reports the end or the error.
                            try
                            {
                                // Inline: a channel with its own I/O thread may run this loop there (its subscribers never block).
                                await reader._source.WaitInlineAsync(CancellationToken.None).ConfigureAwait(false);
                            }
                            catch (Exception error)
                            {
                                reader._source.OnWaitFailed(error); // the next TryFill reports it
                            }

                            continue;
                        }

                        if (received == 0)
                        {
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

                        if (IsDisposed)
                        {
                            return; // what was received stays buffered for the next consumer
                        }
                    }

                    // Lent to a copier, exposed to anyone else; ChunkLease decides what becomes of the array.
                    var lease = ChunkLease.Take(ref reader._buffer, _copier);
                    var batch = WriteBatch.Enter();
                    bool completed = false;
                    try
                    {
                        _observer.OnNext(lease.Chunk);
                        completed = true;
                    }
                    finally
                    {
                        lease.Settle(ref reader._buffer, completed);
                        batch.Exit();
                    }

                    if (batch.HasPausedWriters)
                    {
                        await WaitForPausedWritersAsync(batch).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception handlerError)
            {
                // Only the observer (or a writer it drove) can throw here: its connection goes down, nothing else.
                reader._source.OnConsumerFault(handlerError);
            }
            finally
            {
                if (_strategy == ReceiveStrategy.Pooled)
                {
                    reader._buffer.ReleaseIfEmpty(); // at EOF the array would otherwise leave the pool for good
                }

                reader.Release();
                Dispose();
                _completion.Complete();
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
