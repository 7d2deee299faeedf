namespace RxStreams.Internal;

/// <summary>Where <see cref="FrameDriver{TFrame}.Drain"/> puts frames (a struct, so the JIT inlines the call into the loop).</summary>
/// <typeparam name="TFrame">What a frame decodes to.</typeparam>
internal interface IFrameConsumer<TFrame>
{
    /// <summary>Takes one frame; exceptions propagate to the drain's caller untouched.</summary>
    /// <param name="frame">The frame.</param>
    /// <returns><see langword="false"/> to stop draining (the consumer finished or was disposed).</returns>
    bool OnFrame(TFrame frame);
}
