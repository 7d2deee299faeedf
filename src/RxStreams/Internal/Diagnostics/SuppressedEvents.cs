namespace RxStreams.Internal;

/// <summary>Events of one kind that were counted instead of logged.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Count">How many were not logged.</param>
/// <param name="Span">From the first of them, which was logged, to the summary.</param>
internal readonly record struct SuppressedEvents(string Kind, int Count, TimeSpan Span);
