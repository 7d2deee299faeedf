namespace RxStreams.Testing.Simulation;

/// <summary>One segment in flight, with the virtual time it reaches the other host.</summary>
internal sealed class Segment(SegmentKind kind, byte[]? data)
{
    public SegmentKind Kind { get; } = kind;

    public byte[]? Data { get; } = data;

    public int Length => Data?.Length ?? 0;

    public long Arrival { get; set; }
}
