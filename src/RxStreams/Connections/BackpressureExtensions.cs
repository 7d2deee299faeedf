using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// Async consumers of a reader's observables that keep its backpressure: an <c>await</c> in the consumer holds the
/// reader, as a writer above its high-water mark does.
/// </summary>
/// <remarks>
/// <para>
/// A reader (and every operator chained synchronously on it: the framing operators, <c>Select</c>, <c>Where</c>, ...)
/// reads its next chunk only after the previous <c>OnNext</c> returned. An ordinary <c>Subscribe(async x => ...)</c>
/// returns at its first <c>await</c>, and Rx's <c>ToAsyncEnumerable()</c> queues everything without bound, so with either
/// the reader goes on reading however slow the consumer is (a newcomer's stalled <c>await foreach</c> over
/// <c>reader.Lines().ToAsyncEnumerable()</c> let 276 MiB pile up in 3 s). The two methods here hold the reader instead.
/// </para>
/// <para>
/// Held means: the reader finishes decoding the chunk it is on (its frames wait in a queue), then does not receive
/// again until the consumer has caught up; the peer's sends then stop at the transport's limits. A source that is not
/// fed by an RxStreams reader's loop (a <c>Subject</c>, <c>Observable.Range</c>, a chain after <c>ObserveOn</c>)
/// cannot be held: its elements queue without bound, as in Rx's own operators. <c>OnNext</c> never blocks, so no source
/// can deadlock on the consumer's thread.
/// </para>
/// </remarks>
public static class BackpressureExtensions
{
    /// <summary>
    /// Runs <paramref name="action"/> for each element, one at a time and in order, holding the reader while each
    /// callback's task runs (Ix's <c>ForEachAwaitAsync</c>, for an observable).
    /// </summary>
    /// <typeparam name="T">The element type: chunks, frames, text lines.</typeparam>
    /// <param name="source">A reader, or any operator chained synchronously on one (or any other observable: see the remarks).</param>
    /// <param name="action">The callback; it gets the element and <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Stops the loop: the source is unsubscribed, and the task is cancelled once the running callback ended.</param>
    /// <returns>
    /// A task that completes when the source completed and every callback finished; faults with the source's error (after
    /// the callbacks for every element before it) or with the first error of a callback (the source is then unsubscribed,
    /// which for a reader leaves the unread bytes to the next consumer).
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="action"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// A callback that completes synchronously costs no more than <c>Subscribe</c>. One that does not raises a hold on the
    /// reader dispatching it: the rest of the current chunk's frames wait in a queue, and the reader receives again once
    /// the queue is empty and no callback is running. With a source that no reader feeds, elements that arrive while a
    /// callback runs queue without bound (see <see cref="BackpressureExtensions"/>).
    /// </remarks>
    public static Task ForEachAwaitAsync<T>(this IObservable<T> source, Func<T, CancellationToken, Task> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(action);
        return ForEachAwaitObserver<T>.Run(source, action, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="action"/> for each element, one at a time and in order, holding the reader while each
    /// callback's task runs.
    /// </summary>
    /// <typeparam name="T">The element type: chunks, frames, text lines.</typeparam>
    /// <param name="source">A reader, or any operator chained synchronously on one.</param>
    /// <param name="action">The callback.</param>
    /// <param name="cancellationToken">Stops the loop: the source is unsubscribed, and the task is cancelled once the running callback ended.</param>
    /// <returns>A task that ends with the stream (see <see cref="ForEachAwaitAsync{T}(IObservable{T}, Func{T, CancellationToken, Task}, CancellationToken)"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="action"/> is <see langword="null"/>.</exception>
    public static Task ForEachAwaitAsync<T>(this IObservable<T> source, Func<T, Task> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(action);
        return ForEachAwaitObserver<T>.Run(source, (element, _) => action(element), cancellationToken);
    }

    /// <summary>
    /// Bridges an observable to <c>await foreach</c> through a bounded queue: once <paramref name="capacity"/> elements
    /// wait to be taken, the reader that feeds it stops reading until the consumer has taken half of them.
    /// </summary>
    /// <typeparam name="T">The element type: chunks, frames, text lines.</typeparam>
    /// <param name="source">A reader, or any operator chained synchronously on one (or any other observable: see the remarks).</param>
    /// <param name="capacity">How many elements may wait before the reader is held; 64 by default.</param>
    /// <returns>
    /// The elements in order, then the end; the source's error is thrown by <c>MoveNextAsync</c> after every element before
    /// it. Each enumeration subscribes once, at its first <c>MoveNextAsync</c>; disposing it (leaving the loop) or
    /// cancelling its token unsubscribes, which for a reader leaves the unread bytes to the next consumer.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not positive.</exception>
    /// <remarks>
    /// <para>
    /// Named apart from Rx's (and Ix's) <c>ToAsyncEnumerable()</c>, which buffers without bound. The bound is soft by
    /// one chunk: the hold takes effect after the reader has decoded the chunk it is on, whose frames all queue (a
    /// 64 KiB chunk of short lines can add a few thousand). What the peer can send meanwhile is bounded by the
    /// transport (socket buffers, or an in-memory pair's transfer capacity).
    /// </para>
    /// <para>
    /// With a source that no reader feeds (a <c>Subject</c>, <c>Observable.Range</c>, a chain after <c>ObserveOn</c>),
    /// nothing can be held and the queue grows without bound, as with Rx's bridge (see <see cref="BackpressureExtensions"/>).
    /// </para>
    /// </remarks>
    public static IAsyncEnumerable<T> ToBoundedAsyncEnumerable<T>(this IObservable<T> source, int capacity = 64)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        return new BoundedAsyncEnumerable<T>(source, capacity);
    }
}
