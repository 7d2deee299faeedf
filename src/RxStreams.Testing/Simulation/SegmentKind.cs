namespace RxStreams.Testing.Simulation;

/// <summary>What a link carries: bytes, or the end of a direction, or the answer to a connect.</summary>
internal enum SegmentKind
{
    Data,
    SynAck,
    Fin,
    Rst,
}
