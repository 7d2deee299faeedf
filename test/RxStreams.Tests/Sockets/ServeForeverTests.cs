using NUnit.Framework;

namespace RxStreams.Tests.Sockets;

/// <summary>Issue 11 item 5: one <see cref="StreamServer.ServeForeverAsync"/> at a time, as asyncio's <c>serve_forever()</c>.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class ServeForeverTests
{
    [Test] // asyncio: RuntimeError("server ... is already being awaited on serve_forever()")
    public async Task SecondConcurrentServeForever_Throws_AndTheFirstGoesOn()
    {
        await using var server = await Streams.StartServerAsync("127.0.0.1", 0);
        using var stop = new CancellationTokenSource();
        var first = server.ServeForeverAsync(stop.Token);

        Assert.ThrowsAsync<InvalidOperationException>(async () => await server.ServeForeverAsync().Within());
        Assert.That(first.IsCompleted, Is.False, "the first call still serves");
        Assert.That(server.IsServing, Is.True);

        stop.Cancel();
        Assert.CatchAsync<OperationCanceledException>(async () => await first.Within());
    }

    [Test]
    public async Task ServeForever_AfterTheFirstCallEnded_IsAllowedAgain()
    {
        await using var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { StartServing = false });
        using (var stop = new CancellationTokenSource())
        {
            var first = server.ServeForeverAsync(stop.Token);
            stop.Cancel();
            Assert.CatchAsync<OperationCanceledException>(async () => await first.Within());
        }

        // Closed by the cancellation: the next call fails for that reason, not because the first one is still "running".
        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await server.ServeForeverAsync().Within());
        Assert.That(error!.Message, Does.Contain("closed"));
    }
}
