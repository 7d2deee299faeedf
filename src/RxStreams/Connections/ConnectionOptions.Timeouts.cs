namespace RxStreams;

// The defensive timeouts of a connection: idle connections and frames that never finish
// (docs/adr/0006-timeouts-and-faults.md). The type's docs are in ConnectionOptions.cs.
public partial class ConnectionOptions
{
    private TimeSpan? _idleTimeout;
    private TimeSpan? _frameTimeout;

    /// <summary>
    /// Aborts a connection on which nothing was received and nothing was sent for this long; <see langword="null"/>
    /// (the default) never does. Set it on <see cref="ServerOptions"/> to shed peers that connect and go quiet, or that
    /// vanished without a FIN (a half-open connection is otherwise only found by TCP keep-alive, see
    /// <see cref="KeepAlive"/>, or by the next send).
    /// </summary>
    /// <remarks>
    /// <para>
    /// Runs on <see cref="Scheduler"/> (a <c>TestScheduler</c> drives it in virtual time) with one timer per connection
    /// that re-reads a timestamp; receives and sends only store that timestamp, so the data path gains no timer work.
    /// "Received" means taken from the socket by the reader: a handler that never reads lets the connection go idle
    /// even if the peer sends, and is shed too.
    /// </para>
    /// <para>
    /// On expiry the connection is aborted (RST) with a <see cref="TimeoutException"/> as its error: a pending read or
    /// subscriber gets it (as <c>OnError</c>, or wrapped in <see cref="IncompleteReadException"/> when it held part of a
    /// frame), and <see cref="ConnectionWriter.DrainAsync"/>, <see cref="ConnectionWriter.WaitClosedAsync"/> and later
    /// writes raise it. It is not reported on <see cref="StreamServer.Errors"/>: the peer, not the handler, was at fault.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public TimeSpan? IdleTimeout
    {
        get => _idleTimeout;
        set => _idleTimeout = Positive(value);
    }

    /// <summary>
    /// Aborts a connection whose peer starts a frame and does not finish it within this long (a slowloris defence);
    /// <see langword="null"/> (the default) never does. The clock of a frame starts when a consumer holds some of its
    /// bytes and needs more, and stops when the frame is complete, however many bytes trickle in meanwhile.
    /// </summary>
    /// <remarks>
    /// <para>
    /// What counts as a frame: a pull read (<see cref="ConnectionReader.ReadLineAsync"/>, <c>ReadUntilAsync</c>,
    /// <see cref="ConnectionReader.ReadExactlyAsync"/>, <see cref="ConnectionReader.ReadFramesAsync{TFrame}"/>, and
    /// <c>ReadAsync(-1)</c>, whose frame is the whole input) from the moment it has to wait with part of its frame
    /// buffered; and a framing operator applied directly to the connection's reader (<c>reader.Lines()</c>,
    /// <c>reader.LengthPrefixed()</c>, <c>reader.Decode(...)</c>, ...) while a received chunk has left it inside a frame.
    /// Raw chunks (<c>reader.Subscribe(observer)</c>, <c>ReadAsync(n)</c>) have no frames and are bounded only by
    /// <see cref="IdleTimeout"/>. Time spent paused by backpressure inside a frame counts.
    /// </para>
    /// <para>
    /// Runs on <see cref="Scheduler"/> like <see cref="IdleTimeout"/> (one timer per connection, timestamps on the data
    /// path). On expiry the connection is aborted with a <see cref="TimeoutException"/>; the consumer waiting for the
    /// frame gets <see cref="IncompleteReadException"/> with the frame's bytes in <see cref="IncompleteReadException.Partial"/>
    /// and the <see cref="TimeoutException"/> as <see cref="Exception.InnerException"/>.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public TimeSpan? FrameTimeout
    {
        get => _frameTimeout;
        set => _frameTimeout = Positive(value);
    }

    private static TimeSpan? Positive(TimeSpan? value, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        if (value is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, timeout, "A timeout must be positive; use null for none.");
        }

        return value;
    }
}
