using System.Runtime.InteropServices;
using RxStreams.Internal;

namespace RxStreams.Decoders;

/// <summary>
/// How a decoder under <see cref="Framing.OverflowPolicy.Skip"/> drops bytes: <see cref="Framing.IFrameDecoder{TFrame}"/>
/// can only consume bytes by returning a frame, so it returns <see cref="Marker"/>, and <see cref="SkippedFramesFilter"/>
/// (stacked on the framing operator only under that policy) removes the markers before anyone sees them.
/// </summary>
/// <remarks>
/// The marker is an empty slice of a private array, told apart from a real empty frame (a slice of the receive buffer)
/// by reference. Only the library's own decoders return it.
/// </remarks>
internal static class SkippedFrames
{
    private static readonly byte[] Sentinel = new byte[1];

    /// <summary>The frame a decoder returns for bytes it skipped.</summary>
    public static ReadOnlyMemory<byte> Marker => new(Sentinel, 0, 0);

    /// <summary>Whether <paramref name="frame"/> is <see cref="Marker"/>.</summary>
    public static bool IsMarker(ReadOnlyMemory<byte> frame) =>
        frame.IsEmpty && MemoryMarshal.TryGetArray(frame, out var segment) && ReferenceEquals(segment.Array, Sentinel);

    /// <summary>Returns <see cref="Marker"/> as a decoded frame that took up <paramref name="count"/> bytes.</summary>
    public static bool Skip(int count, out ReadOnlyMemory<byte> frame, out int consumed)
    {
        frame = Marker;
        consumed = count;
        return true;
    }
}

/// <summary>Forwards every frame except the <see cref="SkippedFrames.Marker"/>s; keeps the owned-memory promise of its source.</summary>
/// <remarks>
/// <code>
/// event          | action
/// OnNext(marker) | nothing
/// OnNext(frame)  | OnNext(frame)
/// OnError/OnCompleted/Dispose | forwarded / forwarded / unsubscribe upstream
/// </code>
/// </remarks>
internal sealed class SkippedFramesFilter(IObservable<ReadOnlyMemory<byte>> source) : IObservable<ReadOnlyMemory<byte>>, IOwnedMemorySource
{
    public bool EmitsOwnedMemory => source is IOwnedMemorySource { EmitsOwnedMemory: true };

    public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var sink = new FilterSink(observer);
        sink.SetUpstream(source.Subscribe(sink));
        return sink;
    }

    private sealed class FilterSink(IObserver<ReadOnlyMemory<byte>> downstream) : Sink<ReadOnlyMemory<byte>>(downstream), IObserver<ReadOnlyMemory<byte>>
    {
        public void OnNext(ReadOnlyMemory<byte> value)
        {
            if (!SkippedFrames.IsMarker(value))
            {
                ForwardOnNext(value);
            }
        }

        public void OnError(Exception error) => ForwardOnError(error);

        public void OnCompleted() => ForwardOnCompleted();
    }
}
