using NUnit.Framework;
using RxStreams.Tests.Connections;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>
/// A half-close on TLS sends close_notify through <c>SslStream.ShutdownAsync</c>, which is not safe beside a read of the
/// same stream on this platform (found through the test harness's own peer: see <c>WriterTests.QuarantinedOnTls</c>).
/// The connection's reader may be decrypting at that moment; this checks that a close_notify sent while the echo still
/// streams in loses nothing and fails nothing, many times over to give the overlap a chance.
/// </summary>
/// <remarks>
/// It failed about 1 iteration in 100 before <c>DecryptGate</c> (2026-12-06): the client's connection failed with
/// <c>SslException: Operation failed with error - 5</c> (SSL_ERROR_SYSCALL from <c>SSL_shutdown</c>) and its read to the
/// end returned part of the echo (1,998,848 of 4,194,304 bytes); 4 of 12 runs of 50 iterations failed. With the gate,
/// 0 of 12 runs of 50.
/// </remarks>
[TestFixture]
[CancelAfter(60_000)]
public sealed class TlsHalfCloseWhileReadingTests
{
    [Test]
    [Repeat(20)]
    public async Task HalfClose_WhileTheEchoStreamsIn_EveryByteArrives()
    {
        await using var pair = await TransportKit.OpenLibraryPairAsync(TransportKind.Tls);
        pair.Server.Reader.Subscribe(pair.Server.Writer); // echo, close after the peer's end

        var chunk = Loopback.Pattern(64 * 1024, seed: 5);
        const int Chunks = 64; // 4 MiB
        var reading = Task.Run(async () => await pair.Client.Reader.ReadAsync());
        for (int i = 0; i < Chunks; i++)
        {
            pair.Client.Writer.Write(chunk);
            await pair.Client.Writer.DrainAsync();
        }

        pair.Client.Writer.WriteEof(); // close_notify while the echo still streams in
        var echoed = await reading.Within();
        Assert.That(echoed.Length, Is.EqualTo(Chunks * chunk.Length), $"client error: {pair.Client.Error}; server error: {pair.Server.Error}");
        Assert.That(pair.Client.Error, Is.Null);
    }
}
