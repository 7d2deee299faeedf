using Microsoft.Reactive.Testing;
using NUnit.Framework;
using System.Reactive.Linq;
namespace RxStreams.Tests;
public class SmokeTest : ReactiveTest
{
    [Test]
    public void Scheduler_Works()
    {
        var s = new TestScheduler();
        var xs = s.CreateHotObservable(OnNext(210, 1), OnCompleted<int>(300));
        var r = s.Start(() => xs.Select(x => x + 1));
        Assert.That(r.Messages, Is.EqualTo(new[] { OnNext(210, 2), OnCompleted<int>(300) }));
    }
}
