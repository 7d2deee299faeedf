using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Backpressure;

/// <summary>Contract guarantee 6: a peer that sends an endless line to a lines-framed server cannot make it grow.</summary>
[TestFixture]
[NonParallelizable] // measures the process's memory
public sealed class LimitOverrunServerTests
{
    [Test]
    public async Task EndlessLine_LinesServer_FailsWithLimitOverrun_ClosesTheConnection_MemoryStaysFlat()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Limit = 64 * 1024 });
        await using var guard = Loopback.Guard(server);
        var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);

        // The CLI's line echo, with the failure observed on the way to the writer.
        using var serving = server.Subscribe(connection => connection.Reader.Lines(connection.Reader.Limit)
            .Do(_ => { }, error => failure.TrySetResult(error))
            .Subscribe(connection.Writer));

        long before = GC.GetTotalMemory(forceFullCollection: true);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port())).Within();

        // Send 'x' without a newline until the server resets us; bounded at 256 MiB and 30 s.
        var block = new byte[64 * 1024];
        Array.Fill(block, (byte)'x');
        long sent = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        SocketException? reset = null;
        try
        {
            while (sent < 256L * 1024 * 1024)
            {
                sent += await client.SendAsync(block, SocketFlags.None, stop.Token);
            }
        }
        catch (SocketException error)
        {
            reset = error;
        }

        var overrun = await failure.Task.Within();
        long after = GC.GetTotalMemory(forceFullCollection: true);
        TestContext.Out.WriteLine($"sent {sent} bytes before the reset ({reset?.SocketErrorCode}); managed growth {(after - before) / 1024} KiB");

        Assert.Multiple(() =>
        {
            Assert.That(overrun, Is.TypeOf<LimitOverrunException>());
            Assert.That(((LimitOverrunException)overrun).Consumed, Is.GreaterThan(64 * 1024));
            Assert.That(reset, Is.Not.Null, "the connection was reset once the line passed the limit");

            // What the kernel buffers on both sides plus the limit; nowhere near the 256 MiB the peer was willing to send.
            Assert.That(sent, Is.LessThan(32L * 1024 * 1024));
            Assert.That(after - before, Is.LessThan(1024L * 1024), "the server's memory stays flat");
        });
    }
}
