namespace RxStreams.Internal;

/// <summary>An observer that ignores everything: what a sink forwards to once it has finished.</summary>
internal sealed class NopObserver<T> : IObserver<T>
{
    public static readonly NopObserver<T> Instance = new();

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void OnNext(T value)
    {
    }
}
