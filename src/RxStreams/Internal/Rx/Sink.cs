namespace RxStreams.Internal;

/// <summary>
/// Base of every operator's per-subscription state: forwards to the downstream observer and guarantees the Rx grammar
/// (at most one terminal notification; nothing after it or after disposal), and disposes the upstream subscription once.
/// </summary>
internal abstract class Sink<TTarget> : IDisposable
{
    private IObserver<TTarget> _downstream;
    private IDisposable? _upstream;
    private int _disposed;

    protected Sink(IObserver<TTarget> downstream) => _downstream = downstream;

    protected bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Sets the upstream subscription; disposes it at once when this sink already finished.</summary>
    public void SetUpstream(IDisposable upstream)
    {
        if (Interlocked.CompareExchange(ref _upstream, upstream, null) != null || IsDisposed)
        {
            upstream.Dispose();
        }
    }

    protected void ForwardOnNext(TTarget value) => _downstream.OnNext(value);

    protected void ForwardOnError(Exception error)
    {
        var downstream = Interlocked.Exchange(ref _downstream, NopObserver<TTarget>.Instance);
        downstream.OnError(error);
        Dispose();
    }

    protected void ForwardOnCompleted()
    {
        var downstream = Interlocked.Exchange(ref _downstream, NopObserver<TTarget>.Instance);
        downstream.OnCompleted();
        Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Volatile.Write(ref _downstream, NopObserver<TTarget>.Instance);
            Interlocked.Exchange(ref _upstream, DisposedMarker.Instance)?.Dispose();
            OnDisposed();
        }
    }

    /// <summary>Releases per-subscription resources; called once.</summary>
    protected virtual void OnDisposed()
    {
    }

    private sealed class DisposedMarker : IDisposable
    {
        public static readonly DisposedMarker Instance = new();

        public void Dispose()
        {
        }
    }
}
