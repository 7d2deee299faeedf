using System.Reactive;
using System.Text;
using Microsoft.Reactive.Testing;
using RxStreams.Internal;

namespace RxStreams.Testing;

/// <summary>
/// A connection for marble tests of a protocol handler: its reader replays an input timeline on a
/// <see cref="TestScheduler"/> (asyncio's <c>feed_data</c> / <c>feed_eof</c> at virtual times), and everything its writer
/// sends is recorded with the virtual time it was sent at. Create it with
/// <see cref="TestSchedulerConnectionExtensions.CreateConnection(TestScheduler, Recorded{Notification{string}}[])"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>The reader and writer are the real ones</b> (<see cref="ConnectionReader"/>, <see cref="ConnectionWriter"/>, on an
/// in-memory channel): framing, limits, half-close, close and abort behave as on a socket. Input <c>OnNext</c> feeds
/// bytes, <c>OnCompleted</c> is the peer's EOF (a FIN), <c>OnError(e)</c> makes the reader fail with <c>e</c> after the
/// bytes fed before it.
/// </para>
/// <para>
/// <b>Determinism.</b> Each feed first waits until the handler is waiting for input (bounded by
/// <see cref="InputWaitTimeout"/>: a push subscription starts on the thread pool), then hands the bytes over on the
/// scheduler's thread, inside a write batch: the handler's reaction runs inline, and what it writes is recorded at the
/// feed's tick. This holds for handlers that react synchronously (Rx chains on the reader, pull handlers whose only
/// awaits are the reader's own); work moved to other threads (<c>ObserveOn</c>, <c>Task.Run</c>) is recorded when it
/// happens. Time-based operators must use the <see cref="TestScheduler"/>.
/// </para>
/// <para>
/// <b>Output.</b> <see cref="Written"/> has one <c>OnNext</c> per send (the writer batches the writes of one dispatch
/// into one send, as it would on a socket), then <c>OnCompleted</c> when the handler half-closes or closes, or
/// <c>OnError</c> when it aborts (or fails). <see cref="WrittenLines"/> re-cuts the same bytes into lines.
/// </para>
/// </remarks>
public sealed class TestConnection : IAsyncDisposable
{
    private readonly InMemoryPipe _input;
    private readonly OutputRecorder _output;

    internal TestConnection(TestScheduler scheduler, ConnectionOptions options, IEnumerable<Recorded<Notification<byte[]>>> input)
    {
        _input = new InMemoryPipe(int.MaxValue, asyncContinuations: false);
        _output = new OutputRecorder(scheduler);
        var channel = new InMemoryChannel(_input, _output, new InMemoryEndPoint("handler"), new InMemoryEndPoint("test"));
        Connection = StreamConnection.Open(channel, options);
        foreach (var record in input)
        {
            scheduler.ScheduleAbsolute((Connection: this, Notification: record.Value), record.Time, static (_, state) =>
            {
                state.Connection.Feed(state.Notification);
                return System.Reactive.Disposables.Disposable.Empty;
            });
        }
    }

    /// <summary>The connection the handler under test gets.</summary>
    public StreamConnection Connection { get; }

    /// <summary>The connection's reader.</summary>
    public ConnectionReader Reader => Connection.Reader;

    /// <summary>The connection's writer.</summary>
    public ConnectionWriter Writer => Connection.Writer;

    /// <summary>
    /// How long (in real time) a feed waits for the handler to be waiting for input before it feeds anyway (the bytes
    /// then wait for the handler's next read); 5 s by default. Only a handler that is not reading pays it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan InputWaitTimeout
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            field = value;
        }
    } = TimeSpan.FromSeconds(5);

    /// <summary>What the handler sent, as UTF-8 text, one <c>OnNext</c> per send, then its end.</summary>
    public IList<Recorded<Notification<string>>> Written =>
        WrittenBytes.Select(static r => new Recorded<Notification<string>>(r.Time, Map(r.Value, static b => Encoding.UTF8.GetString(b)))).ToList();

    /// <summary>What the handler sent, as bytes, one <c>OnNext</c> per send, then its end.</summary>
    public IList<Recorded<Notification<byte[]>>> WrittenBytes => _output.Snapshot();

    /// <summary>
    /// What the handler sent, cut into UTF-8 lines without their <c>\n</c> or <c>\r\n</c> (as
    /// <see cref="Framing.FramingExtensions.LinesText"/> cuts them), each at the tick its last byte was sent; a last line
    /// without <c>\n</c> comes just before the end.
    /// </summary>
    public IList<Recorded<Notification<string>>> WrittenLines => LineCutter.Cut(WrittenBytes);

    /// <summary>
    /// Runs an asyncio-style handler now, on this thread, as a <see cref="StreamServer"/> would: when its task completes
    /// the connection is closed gracefully (also when it stops with <see cref="OperationCanceledException"/> after
    /// <see cref="RequestClose"/>); when it throws, the connection is aborted and the returned task faults with the
    /// handler's exception.
    /// </summary>
    /// <param name="handler">The handler under test.</param>
    /// <returns>A task that completes when the handler has finished and the connection is closing or aborted.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    public Task Start(Func<ConnectionReader, ConnectionWriter, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Task running;
        var batch = WriteBatch.Enter(); // what the handler writes before its first await is sent at the current tick
        try
        {
            running = handler(Reader, Writer);
        }
        catch (Exception error)
        {
            running = Task.FromException(error);
        }
        finally
        {
            batch.Exit();
        }

        return FinishAsync(running);
    }

    /// <summary>
    /// Signals <see cref="StreamConnection.CloseRequested"/> (what a server's shutdown does) on this thread, inside a write
    /// batch, so that the handler's reaction is recorded at the current tick. Schedule it to test a graceful shutdown:
    /// <c>scheduler.ScheduleAbsolute(500, () =&gt; connection.RequestClose())</c>.
    /// </summary>
    public void RequestClose()
    {
        var batch = WriteBatch.Enter();
        try
        {
            Connection.RequestClose();
        }
        finally
        {
            batch.Exit();
        }
    }

    /// <summary>Closes the connection gracefully (see <see cref="StreamConnection.DisposeAsync"/>). Idempotent.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    private async Task FinishAsync(Task running)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Connection.CloseRequested.IsCancellationRequested)
        {
            // Stopped because close was requested: a normal end, as for a server's handler.
        }
        catch (Exception error)
        {
            Connection.Core.Fail(error);
            throw;
        }

        Connection.Dispose(); // a graceful close, recorded when the writer has flushed
    }

    private static Notification<TOut> Map<TIn, TOut>(Notification<TIn> notification, Func<TIn, TOut> map) => notification.Kind switch
    {
        NotificationKind.OnNext => Notification.CreateOnNext(map(notification.Value)),
        NotificationKind.OnError => Notification.CreateOnError<TOut>(notification.Exception!),
        _ => Notification.CreateOnCompleted<TOut>(),
    };

    private void Feed(Notification<byte[]> notification)
    {
        if (_input.IsDropped)
        {
            return; // the handler closed its connection: what the script sends now is lost, as on a socket
        }

        _input.WaitForReceiver(InputWaitTimeout);
        var batch = WriteBatch.Enter();
        try
        {
            switch (notification.Kind)
            {
                case NotificationKind.OnNext:
                    FeedBytes(notification.Value);
                    break;
                case NotificationKind.OnCompleted:
                    _input.ShutdownSend();
                    break;
                default:
                    _input.Reset(notification.Exception!);
                    break;
            }
        }
        finally
        {
            batch.Exit();
        }
    }

    private void FeedBytes(byte[] bytes)
    {
        try
        {
            _input.Offer(bytes);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            // The handler closed meanwhile, or the script fed bytes after its own OnCompleted: nothing to deliver.
        }
    }
}
