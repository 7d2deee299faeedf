using System.Net.Sockets;
using System.Reactive.Linq;
using System.Security.Authentication;
using Microsoft.Reactive.Testing;
using NUnit.Framework;
using RxStreams.Internal.Connect;

namespace RxStreams.Tests.Reconnect;

/// <summary>
/// Issue 13 item 5: the reconnect policy in virtual time: exponential backoff with jitter on the scheduler, the
/// attempt limit, errors not worth retrying, and Retry versus Repeat semantics.
/// </summary>
public sealed class ReconnectPolicyTests : ReactiveTest
{
    private static readonly long Ms = TimeSpan.TicksPerMillisecond;

    private static ReconnectPolicy Exact(int? maxAttempts = 4) =>
        new() { MaxAttempts = maxAttempts, InitialDelay = TimeSpan.FromMilliseconds(100), Multiplier = 2, MaxDelay = TimeSpan.FromMilliseconds(500), Jitter = 0 };

    [Test]
    public void FailedConnects_AreRetriedWithExponentialBackoff_UntilTheAttemptsRunOut()
    {
        var scheduler = new TestScheduler();
        var attempts = new List<long>();
        var refused = new SocketException((int)SocketError.ConnectionRefused);
        var source = Observable.Defer(() =>
        {
            attempts.Add(scheduler.Clock);
            return Observable.Throw<int>(refused);
        });

        var observer = scheduler.CreateObserver<int>();
        using var subscription = ReconnectingConnect<int>.Create(source, Exact(maxAttempts: 5), scheduler).Subscribe(observer);
        scheduler.Start();

        // Delays of 100, 200, 400 and then 500 ms (MaxDelay caps 800).
        Assert.That(attempts, Is.EqualTo(new[] { 0, 100 * Ms, 300 * Ms, 700 * Ms, 1200 * Ms }));
        Assert.That(observer.Messages, Is.EqualTo(new[] { OnError<int>(1200 * Ms, refused) }), "the last attempt's error, once the attempts ran out");
    }

    [Test]
    public void AnErrorNotWorthRetrying_EndsTheSequenceAtOnce()
    {
        var scheduler = new TestScheduler();
        int attempts = 0;
        var refusedCertificate = new AuthenticationException("untrusted");
        var source = Observable.Defer(() =>
        {
            attempts++;
            return Observable.Throw<int>(refusedCertificate);
        });

        var observer = scheduler.CreateObserver<int>();
        using var subscription = ReconnectingConnect<int>.Create(source, Exact(), scheduler).Subscribe(observer);
        scheduler.Start();

        Assert.That(attempts, Is.EqualTo(1));
        Assert.That(observer.Messages, Is.EqualTo(new[] { OnError<int>(0, refusedCertificate) }));
    }

    [Test]
    public void ByDefault_LikeRetry_OneConnectionAndCompletion_AndTheCountResetsAfterAConnect()
    {
        var scheduler = new TestScheduler();
        var attempts = new List<long>();
        var source = Observable.Defer(() =>
        {
            attempts.Add(scheduler.Clock);
            return attempts.Count < 3
                ? Observable.Throw<int>(new TimeoutException())
                : scheduler.CreateColdObservable(OnNext(10, 42), OnCompleted<int>(50));
        });

        var observer = scheduler.CreateObserver<int>();
        using var subscription = ReconnectingConnect<int>.Create(source, Exact(maxAttempts: 3), scheduler).Subscribe(observer);
        scheduler.Start();

        Assert.That(attempts, Is.EqualTo(new[] { 0, 100 * Ms, 300 * Ms }), "the third attempt, the last allowed, connects");
        Assert.That(observer.Messages, Is.EqualTo(new[] { OnNext(300 * Ms + 10, 42), OnCompleted<int>(300 * Ms + 50) }));
    }

    [Test]
    public void ReconnectAfterClose_LikeRepeat_EmitsSuccessiveConnections()
    {
        var scheduler = new TestScheduler();
        var attempts = new List<long>();
        var source = Observable.Defer(() =>
        {
            attempts.Add(scheduler.Clock);
            return attempts.Count switch
            {
                1 => scheduler.CreateColdObservable(OnNext(10, 1), OnCompleted<int>(1000)), // closes after a while
                2 => Observable.Throw<int>(new SocketException((int)SocketError.ConnectionRefused)), // the server restarts
                3 => scheduler.CreateColdObservable(OnNext(10, 2), OnError<int>(20, new IOException("reset"))),
                _ => Observable.Never<int>(),
            };
        });
        var policy = Exact();
        policy.ReconnectAfterClose = true;

        var observer = scheduler.CreateObserver<int>();
        var subscription = ReconnectingConnect<int>.Create(source, policy, scheduler).Subscribe(observer);
        scheduler.AdvanceTo(10_000 * Ms);
        subscription.Dispose();

        long closed = 1000, restarted = closed + (100 * Ms), reset = restarted + (100 * Ms) + 20;
        Assert.That(attempts, Is.EqualTo(new[] { 0, restarted, restarted + (100 * Ms), reset + (100 * Ms) }),
            "InitialDelay after each close; the failure after the first close backs off from the start again");
        Assert.That(observer.Messages, Is.EqualTo(new[] { OnNext(10, 1), OnNext(restarted + (100 * Ms) + 10, 2) }), "it never completes by itself");
    }

    [Test]
    public void DisposingDuringTheBackoff_StopsTheTimer()
    {
        var scheduler = new TestScheduler();
        int attempts = 0;
        var source = Observable.Defer(() =>
        {
            attempts++;
            return Observable.Throw<int>(new SocketException((int)SocketError.ConnectionRefused));
        });

        var subscription = ReconnectingConnect<int>.Create(source, Exact(maxAttempts: null), scheduler).Subscribe(_ => { }, _ => { });
        scheduler.AdvanceTo(150 * Ms); // attempts at 0 and 100 ms; the next is due at 300 ms
        subscription.Dispose();
        scheduler.Start();

        Assert.That(attempts, Is.EqualTo(2));
    }

    [Test]
    public void Jitter_ShortensEachDelay_ByASeedableRandomShare()
    {
        var policy = Exact();
        policy.Jitter = 0.5;
        policy.Random = new FixedRandom(0.5); // takes off half of the allowed share: a quarter

        Assert.Multiple(() =>
        {
            Assert.That(policy.GetDelay(1), Is.EqualTo(TimeSpan.FromMilliseconds(75)));
            Assert.That(policy.GetDelay(3), Is.EqualTo(TimeSpan.FromMilliseconds(300)));
            Assert.That(policy.GetDelay(30), Is.EqualTo(TimeSpan.FromMilliseconds(375)), "MaxDelay caps before the jitter: it stays the longest wait");
        });

        var seeded = new ReconnectPolicy { Random = new Random(7) };
        var again = new ReconnectPolicy { Random = new Random(7) };
        Assert.That(Enumerable.Range(1, 8).Select(seeded.GetDelay), Is.EqualTo(Enumerable.Range(1, 8).Select(again.GetDelay)), "a seeded Random repeats its delays");
    }

    [Test]
    public void Policy_RejectsInconsistentValues()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReconnectPolicy { MaxAttempts = 0 });
            Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReconnectPolicy { InitialDelay = TimeSpan.FromTicks(-1) });
            Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReconnectPolicy { Multiplier = 0.5 });
            Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReconnectPolicy { Jitter = 1.5 });
            Assert.Throws<ArgumentOutOfRangeException>(() => Observable.Never<StreamConnection>().Reconnect(
                new ReconnectPolicy { InitialDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(1) }));
            Assert.That(ReconnectPolicy.IsTransient(new AggregateException(new SocketException(), new TimeoutException())), Is.True);
            Assert.That(ReconnectPolicy.IsTransient(new ArgumentException()), Is.False);
        });
    }

    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }
}
