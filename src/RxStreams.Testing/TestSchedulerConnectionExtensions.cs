using System.Reactive;
using System.Text;
using Microsoft.Reactive.Testing;

namespace RxStreams.Testing;

/// <summary>Creates <see cref="TestConnection"/>s on a <see cref="TestScheduler"/>, the way <c>CreateHotObservable</c> creates sources.</summary>
public static class TestSchedulerConnectionExtensions
{
    /// <summary>
    /// A connection whose peer sends <paramref name="input"/> (UTF-8 text) at its virtual times:
    /// <c>scheduler.CreateConnection(OnNext(100, "PING\r\n"), OnCompleted&lt;string&gt;(300))</c>.
    /// </summary>
    /// <param name="scheduler">The scheduler whose clock drives the input and stamps the output.</param>
    /// <param name="input">The peer's bytes (<c>OnNext</c>), its EOF (<c>OnCompleted</c>) or a failure (<c>OnError</c>).</param>
    /// <returns>The connection; give it to the handler under test, then run the scheduler.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="scheduler"/> or <paramref name="input"/> is <see langword="null"/>.</exception>
    public static TestConnection CreateConnection(this TestScheduler scheduler, params Recorded<Notification<string>>[] input) =>
        scheduler.CreateConnection(null, input);

    /// <inheritdoc cref="CreateConnection(TestScheduler, Recorded{Notification{string}}[])"/>
    /// <param name="scheduler">The scheduler whose clock drives the input and stamps the output.</param>
    /// <param name="options">The connection's settings (limit, water marks...); defaults when <see langword="null"/>, except that its <see cref="ConnectionOptions.Scheduler"/> is set to <paramref name="scheduler"/>.</param>
    /// <param name="input">The peer's bytes (<c>OnNext</c>), its EOF (<c>OnCompleted</c>) or a failure (<c>OnError</c>).</param>
    public static TestConnection CreateConnection(this TestScheduler scheduler, ConnectionOptions? options, params Recorded<Notification<string>>[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return scheduler.CreateConnection(options, input.Select(static r => new Recorded<Notification<byte[]>>(r.Time, ToBytes(r.Value))).ToArray());
    }

    /// <summary>A connection whose peer sends <paramref name="input"/> (raw bytes) at its virtual times.</summary>
    /// <param name="scheduler">The scheduler whose clock drives the input and stamps the output.</param>
    /// <param name="options">The connection's settings; defaults when <see langword="null"/>, except that its <see cref="ConnectionOptions.Scheduler"/> is set to <paramref name="scheduler"/>.</param>
    /// <param name="input">The peer's bytes (<c>OnNext</c>), its EOF (<c>OnCompleted</c>) or a failure (<c>OnError</c>).</param>
    /// <returns>The connection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="scheduler"/> or <paramref name="input"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The water marks in <paramref name="options"/> are inconsistent.</exception>
    public static TestConnection CreateConnection(this TestScheduler scheduler, ConnectionOptions? options, params Recorded<Notification<byte[]>>[] input)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(input);
        options ??= new ConnectionOptions();
        options.Scheduler = scheduler; // the close timeout, like every timeout, runs in virtual time
        options.Validate();
        return new TestConnection(scheduler, options, input);
    }

    private static Notification<byte[]> ToBytes(Notification<string> notification) => notification.Kind switch
    {
        NotificationKind.OnNext => Notification.CreateOnNext(Encoding.UTF8.GetBytes(notification.Value)),
        NotificationKind.OnError => Notification.CreateOnError<byte[]>(notification.Exception!),
        _ => Notification.CreateOnCompleted<byte[]>(),
    };
}
