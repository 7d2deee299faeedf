namespace RxStreams.Internal;

/// <summary>
/// Marks an observable whose chunks are immutable memory that the receiver owns (emitted by RxStreams itself), so a
/// framing operator can slice frames out of them instead of copying.
/// </summary>
internal interface IOwnedMemorySource
{
    /// <summary>Whether the chunks really are owned, immutable memory (a custom decoder's frames may not be).</summary>
    bool EmitsOwnedMemory { get; }
}
