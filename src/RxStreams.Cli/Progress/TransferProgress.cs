using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Linq;

namespace RxStreams.Cli.Progress;

/// <summary>
/// The progress display of a long transfer, on standard error: bytes sent, the average rate since the start, and the
/// percentage when the total is known (<c>3.0 MiB of 4.0 MiB (75%) at 1.5 MiB/s</c>). It refreshes on a timer of
/// <see cref="DefaultPeriod"/> (a few times a second, whatever the rate), and only when the count moved, so a long
/// idle <c>connect</c> writes nothing. On a terminal each refresh redraws one line in place (<c>\r</c>); elsewhere
/// (<c>--progress</c> into a log or a test) each refresh is a line of its own, so nothing needs a terminal to read.
/// <see cref="Complete"/> writes the final figures (unless the last refresh showed them) and ends the line.
/// </summary>
internal sealed class TransferProgress : IDisposable
{
    /// <summary>How often the display refreshes: 250 ms.</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromMilliseconds(250);

    private readonly TextWriter _error;
    private readonly long? _total;
    private readonly bool _redrawInPlace;
    private readonly IScheduler _scheduler;
    private readonly DateTimeOffset _start;
    private readonly IDisposable _timer;
    private readonly Lock _gate = new();
    private long _sent;
    private long _shown = -1;
    private int _lastWidth;
    private bool _finished;

    /// <summary>Starts the display; <paramref name="total"/> is the transfer's size when known.</summary>
    public TransferProgress(TextWriter error, long? total, bool redrawInPlace, IScheduler scheduler, TimeSpan? period = null)
    {
        _error = error;
        _total = total;
        _redrawInPlace = redrawInPlace;
        _scheduler = scheduler;
        _start = scheduler.Now;
        _timer = Observable.Interval(period ?? DefaultPeriod, scheduler).Subscribe(_ => Refresh(final: false));
    }

    /// <summary>Counts <paramref name="bytes"/> more as sent (the writer took them within its water marks).</summary>
    public void Add(long bytes) => Interlocked.Add(ref _sent, bytes);

    /// <summary>Stops the timer and writes the final figures, ending the line. Later calls do nothing.</summary>
    public void Complete()
    {
        _timer.Dispose();
        Refresh(final: true);
    }

    /// <summary>Stops the timer; a display not completed ends its line so later messages start on a fresh one.</summary>
    public void Dispose()
    {
        _timer.Dispose();
        lock (_gate)
        {
            if (!_finished && _redrawInPlace && _lastWidth > 0)
            {
                _error.WriteLine();
                _error.Flush();
            }

            _finished = true;
        }
    }

    /// <summary>The text of one refresh, without line control: what a test or a log sees.</summary>
    public static string Describe(long sent, long? total, TimeSpan elapsed)
    {
        string rate = elapsed > TimeSpan.Zero ? $" at {ByteSize.Format(sent / elapsed.TotalSeconds)}/s" : string.Empty;
        if (total is long known && known > 0)
        {
            long percent = Math.Min(100, sent * 100 / known);
            return string.Create(CultureInfo.InvariantCulture, $"{ByteSize.Format(sent)} of {ByteSize.Format(known)} ({percent}%){rate}");
        }

        return $"{ByteSize.Format(sent)} sent{rate}";
    }

    private void Refresh(bool final)
    {
        lock (_gate)
        {
            long sent = Volatile.Read(ref _sent);
            if (_finished)
            {
                return;
            }

            _finished = final;
            if (sent == _shown)
            {
                // Nothing moved since the last refresh: say nothing twice; a terminal's line only needs ending.
                if (final && _redrawInPlace)
                {
                    _error.WriteLine();
                    _error.Flush();
                }

                return;
            }

            _shown = sent;
            string line = Describe(sent, _total, _scheduler.Now - _start);
            if (_redrawInPlace)
            {
                // Pad over the tail of a longer previous line: a terminal's \r only moves the cursor.
                _error.Write('\r');
                _error.Write(line.PadRight(_lastWidth));
                _lastWidth = line.Length;
                if (final)
                {
                    _error.WriteLine();
                }
            }
            else
            {
                _error.WriteLine(line);
            }

            _error.Flush();
        }
    }
}
