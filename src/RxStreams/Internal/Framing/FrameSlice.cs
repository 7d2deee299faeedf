namespace RxStreams.Internal;

/// <summary>
/// A frame decoded ahead, as where it lies in the read buffer's array: what a decode run writes instead of a
/// <see cref="ReadOnlyMemory{T}"/>, so that a batch holds no object reference and storing a frame costs no GC write barrier.
/// </summary>
/// <param name="Start">The frame's first byte, as an index into the array.</param>
/// <param name="Length">The frame's length.</param>
internal readonly record struct FrameSlice(int Start, int Length);
