using System.Reactive.Concurrency;

namespace RxStreams.Internal;

/// <summary>
/// Bounds how many log lines peers can cause: of the events of one kind (a failed TLS handshake, a refused PROXY header)
/// only the first of each interval is logged in full; the others are counted and reported as one summary line,
/// "N more similar events in the last S s". At most two lines per kind and interval, however many peers misbehave.
/// </summary>
/// <remarks>
/// <para>
/// Timer-free: a window's summary is given out by the first event of its kind after the window ended (just before that
/// event is logged as the first of its own window), or by <see cref="Drain"/> when the server closes. A burst that stops
/// therefore has its summary written late, with the next event or at close, and never costs a timer per kind.
/// </para>
/// <para>
/// Kinds come from our own code (an event name and an exception type), never from peer text, so the table stays small.
/// Thread-safe; the clock is a scheduler's, so tests drive it with a <c>TestScheduler</c>.
/// </para>
/// </remarks>
internal sealed class LogAggregator(IScheduler clock, TimeSpan interval)
{
    /// <summary>The interval a server aggregates its per-connection log events over.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>
    /// Counts one event of <paramref name="kind"/>; says whether to log it in full, and hands out the summary of the kind's
    /// previous window when this event starts a new one (to be logged first).
    /// </summary>
    /// <param name="kind">What happened, from our own code (for example the event's name and the exception's type).</param>
    /// <param name="ended">The previous window's suppressed events, when this event closes a window that had any.</param>
    /// <returns>Whether to log this event in full.</returns>
    public bool ShouldLog(string kind, out SuppressedEvents? ended)
    {
        var now = clock.Now;
        ended = null;
        lock (_windows)
        {
            if (_windows.TryGetValue(kind, out var window) && now - window.Start < interval)
            {
                window.Suppressed++;
                return false;
            }

            if (window is { Suppressed: > 0 })
            {
                ended = new SuppressedEvents(kind, window.Suppressed, now - window.Start);
            }

            _windows[kind] = new Window(now);
            return true;
        }
    }

    /// <summary>The summaries still owed (events suppressed since their window's first): for the server's close.</summary>
    /// <returns>One entry per kind with suppressed events; the windows are reset.</returns>
    public IReadOnlyList<SuppressedEvents> Drain()
    {
        var now = clock.Now;
        var owed = new List<SuppressedEvents>();
        lock (_windows)
        {
            foreach (var (kind, window) in _windows)
            {
                if (window.Suppressed > 0)
                {
                    owed.Add(new SuppressedEvents(kind, window.Suppressed, now - window.Start));
                }
            }

            _windows.Clear();
        }

        return owed;
    }

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; } = start;

        public int Suppressed { get; set; }
    }
}
