using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxStreams.Internal;

/// <summary>
/// Enforces <see cref="ConnectionOptions.IdleTimeout"/> and <see cref="ConnectionOptions.FrameTimeout"/> for one
/// connection with a single timer on <see cref="ConnectionOptions.Scheduler"/>.
/// </summary>
/// <remarks>
/// <para>
/// The hot path never touches the timer: a receive or a send only stores a timestamp (<see cref="OnActivity"/>), and a
/// framer that ends a chunk inside a frame stores the frame's start once (<see cref="BeginFrame"/>). The timer wakes at
/// the earliest deadline those timestamps allow, re-reads them, and either fails the connection or sleeps again until
/// the new earliest deadline. While no frame is in progress it still wakes at least every frame timeout, so a frame
/// that starts just after a wake is caught exactly one frame timeout after its start.
/// </para>
/// <para>State: Created → Running (<see cref="Start"/>: a timer is scheduled) → Stopped (the connection closed, or a deadline passed and failed it).</para>
/// </remarks>
internal sealed class ConnectionWatchdog
{
    private const long NoFrame = long.MinValue;

    private readonly ConnectionCore _core;
    private readonly IScheduler _scheduler;
    private readonly long _idleTicks; // 0: no idle timeout
    private readonly long _frameTicks; // 0: no frame timeout
    private long _lastActivity;
    private long _frameStart = NoFrame;
    private IDisposable? _timer;
    private int _stopped;

    private ConnectionWatchdog(ConnectionCore core, IScheduler scheduler, TimeSpan? idle, TimeSpan? frame)
    {
        _core = core;
        _scheduler = scheduler;
        _idleTicks = idle?.Ticks ?? 0;
        _frameTicks = frame?.Ticks ?? 0;
    }

    /// <summary>A watchdog for <paramref name="core"/> when <paramref name="options"/> ask for one; its timer starts with <see cref="Start"/>.</summary>
    public static ConnectionWatchdog? For(ConnectionCore core, ConnectionOptions options) =>
        options.IdleTimeout is null && options.FrameTimeout is null
            ? null
            : new ConnectionWatchdog(core, options.Scheduler, options.IdleTimeout, options.FrameTimeout);

    /// <summary>Starts the timer (once the connection starts); a closed connection's watchdog stays stopped.</summary>
    public void Start()
    {
        _lastActivity = Now;
        ScheduleAt(NextDeadline(_lastActivity, NoFrame, _lastActivity));
        if (_core.IsClosed)
        {
            Stop(); // closed before it started: the close did not see a timer to stop
        }
    }

    private long Now => _scheduler.Now.UtcTicks;

    /// <summary>Whether a frame's clock is running (for tests that must not advance virtual time before it starts).</summary>
    internal bool FrameInProgress => Volatile.Read(ref _frameStart) != NoFrame;

    /// <summary>Whether the watchdog has stopped (the connection closed or timed out).</summary>
    internal bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>Bytes were received or sent: the idle deadline moves.</summary>
    public void OnActivity()
    {
        if (_idleTicks != 0)
        {
            Volatile.Write(ref _lastActivity, Now);
        }
    }

    /// <summary>A consumer holds part of a frame and needs more bytes: the frame's clock starts, unless it already runs.</summary>
    public void BeginFrame()
    {
        if (_frameTicks != 0 && Volatile.Read(ref _frameStart) == NoFrame)
        {
            Volatile.Write(ref _frameStart, Now);
        }
    }

    /// <summary>The frame in progress ended (completed, or its read gave up): no frame clock runs.</summary>
    public void EndFrame()
    {
        if (_frameTicks != 0)
        {
            Volatile.Write(ref _frameStart, NoFrame);
        }
    }

    /// <summary>The connection closed: the timer goes, so a closed connection is not kept alive by it.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            Interlocked.Exchange(ref _timer, null)?.Dispose();
        }
    }

    private void OnTimer()
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        long now = Now;
        long lastActivity = Volatile.Read(ref _lastActivity);
        long frameStart = Volatile.Read(ref _frameStart);
        if (_frameTicks != 0 && frameStart != NoFrame && now - frameStart >= _frameTicks)
        {
            Expire(new TimeoutException($"A frame was started but not completed within {TimeSpan.FromTicks(_frameTicks)} (ConnectionOptions.FrameTimeout): the connection was aborted."));
            return;
        }

        if (_idleTicks != 0 && now - lastActivity >= _idleTicks)
        {
            Expire(new TimeoutException($"Nothing was received or sent for {TimeSpan.FromTicks(_idleTicks)} (ConnectionOptions.IdleTimeout): the connection was aborted."));
            return;
        }

        ScheduleAt(NextDeadline(lastActivity, frameStart, now));
    }

    private long NextDeadline(long lastActivity, long frameStart, long now)
    {
        long next = long.MaxValue;
        if (_idleTicks != 0)
        {
            next = lastActivity + _idleTicks;
        }

        if (_frameTicks != 0)
        {
            // With no frame in progress, look again one frame timeout from now: a frame starting meanwhile is then due.
            next = Math.Min(next, frameStart == NoFrame ? now + _frameTicks : frameStart + _frameTicks);
        }

        return next;
    }

    private void ScheduleAt(long deadline)
    {
        var due = TimeSpan.FromTicks(Math.Max(0, deadline - Now));
        var timer = _scheduler.Schedule(this, due, static (_, watchdog) =>
        {
            watchdog.OnTimer();
            return Disposable.Empty;
        });
        Interlocked.Exchange(ref _timer, timer);
        if (Volatile.Read(ref _stopped) != 0)
        {
            Interlocked.Exchange(ref _timer, null)?.Dispose(); // Stop ran while we scheduled
        }
    }

    private void Expire(TimeoutException error)
    {
        Stop();
        _core.Fail(error);
    }
}
