using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>Contract guarantee 5 over TLS: <c>reader.Subscribe(writer)</c> stops reading while its writer is above the high-water mark.</summary>
[TestFixture]
public sealed class TlsBackpressureTests
{
    [Test]
    public async Task TlsEcho_ClientNotReading_ServerWriterStaysBounded_BackpressureReachesTheClient_ThenEveryByteArrives()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);
        var accepted = server.Take(1).Do(c => c.Reader.Subscribe(c.Writer)).FirstAsync().ToTask();

        const int total = 32 * 1024 * 1024; // more than every kernel buffer on the path can hold
        var payload = Loopback.Pattern(total, seed: 7);
        await using var client = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { Tls = TestCertificates.TrustingClient(), MaxWriteBufferSize = 2L * total }).Within();
        var echo = await accepted.Within();
        client.Writer.Write(payload); // buffered; nobody reads the echo yet

        // The echo's writer fills up to its high-water mark, its reader stops, and the pressure travels back to us.
        Assert.That(() => echo.Writer.IsPaused && client.Writer.IsPaused, Is.True.After(20_000, 20));
        long serverBuffered = echo.Writer.BufferSize;
        TestContext.Out.WriteLine($"paused: server writer {serverBuffered} bytes, client writer {client.Writer.BufferSize} bytes still buffered");
        Assert.That(serverBuffered, Is.LessThanOrEqualTo(echo.Writer.HighWaterMark + (16 * 1024)), "high-water mark plus at most one TLS record in dispatch");
        Assert.That(client.Writer.BufferSize, Is.GreaterThan(0), "the client's bytes wait in its own buffer, not in the server's memory");

        var received = new byte[total];
        int have = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var chunk in client.Reader.ReadChunksAsync(stop.Token))
        {
            chunk.Span.CopyTo(received.AsSpan(have));
            have += chunk.Length;
            Assert.That(echo.Writer.BufferSize, Is.LessThanOrEqualTo(echo.Writer.HighWaterMark + (16 * 1024)));
            if (have == total)
            {
                break;
            }
        }

        Assert.That(received.AsSpan().SequenceEqual(payload), Is.True, "every byte, in order");
        Assert.That(client.Writer.BufferSize, Is.Zero);
        echo.Abort();
    }
}
