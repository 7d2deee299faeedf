using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Backpressure;

/// <summary>
/// Contract guarantee 5 end to end: the CLI's proxy (both directions <c>reader.Subscribe(writer)</c>) between a sender
/// that pushes as fast as it can and a receiver that reads slowly holds bounded memory, and every byte arrives in order.
/// </summary>
[TestFixture]
[NonParallelizable] // measures the process's memory
public sealed class ProxyMemoryTests
{
    private const int TransferBytes = 96 * 1024 * 1024;
    private const int ReceiverChunk = 32 * 1024; // read per millisecond or so: a few tens of MB/s, far below the sender

    [Test]
    public async Task Proxy_FastSenderSlowReceiver_MemoryStaysBounded_AndEveryByteArrivesInOrder()
    {
        using var receiverListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        receiverListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        receiverListener.Listen();
        int receiverPort = ((IPEndPoint)receiverListener.LocalEndPoint!).Port;

        var proxyServer = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(proxyServer);
        using var forwarding = RxStreams.Cli.Proxy.Forward(proxyServer, "127.0.0.1", receiverPort, TextWriter.Null);

        long baselineManaged = GC.GetTotalMemory(forceFullCollection: true);
        long baselineRss = ResidentBytes();

        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await sender.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxyServer.Port())).Within();
        using var receiver = await receiverListener.AcceptAsync().Within();

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // bounded, whatever happens
        var sending = Task.Run(() => SendPatternAsync(sender, stop.Token));
        var receiving = Task.Run(() => ReceiveAndVerifyAsync(receiver, stop.Token));

        long maxManaged = 0, maxRss = 0;
        while (!receiving.IsCompleted)
        {
            maxManaged = Math.Max(maxManaged, GC.GetTotalMemory(forceFullCollection: true) - baselineManaged);
            maxRss = Math.Max(maxRss, ResidentBytes() - baselineRss);
            await Task.WhenAny(receiving, Task.Delay(100, stop.Token));
        }

        await sending;
        long received = await receiving;
        TestContext.Out.WriteLine($"transferred {received} bytes; proxy managed growth max {maxManaged / 1024} KiB, process RSS growth max {maxRss / 1024} KiB");

        // Per direction at most one received chunk (64 KiB) in dispatch plus the writer's high-water mark (64 KiB) and
        // the chunk that crossed it: well under 1 MiB for this one connection pair. 4 MiB leaves room for the
        // sampling itself and the test's own sockets; unbounded buffering would reach the 96 MiB being sent.
        Assert.Multiple(() =>
        {
            Assert.That(received, Is.EqualTo(TransferBytes), "every byte arrived (content checked in order while receiving)");
            Assert.That(maxManaged, Is.LessThan(4L * 1024 * 1024), "live managed memory growth while the far side reads slowly");
            Assert.That(maxRss, Is.LessThan(48L * 1024 * 1024), "resident memory growth (includes garbage not yet collected), half of what was sent");
        });
    }

    private static async Task SendPatternAsync(Socket socket, CancellationToken cancellationToken)
    {
        var block = new byte[256 * 1024];
        for (long offset = 0; offset < TransferBytes; offset += block.Length)
        {
            Fill(block, offset);
            int count = (int)Math.Min(block.Length, TransferBytes - offset);
            await socket.SendAsync(block.AsMemory(0, count), SocketFlags.None, cancellationToken);
        }

        socket.Shutdown(SocketShutdown.Send); // the proxy carries the half-close to the receiver
    }

    private static async Task<long> ReceiveAndVerifyAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReceiverChunk];
        var expected = new byte[ReceiverChunk];
        long total = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                return total; // EOF: the sender's half-close came through the proxy
            }

            Fill(expected.AsSpan(0, n), total);
            if (!buffer.AsSpan(0, n).SequenceEqual(expected.AsSpan(0, n)))
            {
                throw new AssertionException($"bytes out of order or corrupted at offset {total}");
            }

            total += n;
            await Task.Delay(1, cancellationToken); // the slow reader: throttling, not synchronisation
        }
    }

    /// <summary>Byte i of the stream is a function of i, so loss, duplication or reordering shows at once.</summary>
    private static void Fill(Span<byte> block, long offset)
    {
        for (int i = 0; i < block.Length; i++)
        {
            long position = offset + i;
            block[i] = (byte)((position * 2654435761L) >> 13);
        }
    }

    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("VmRSS not found");
    }
}
