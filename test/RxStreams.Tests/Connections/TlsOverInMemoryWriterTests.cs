using NUnit.Framework;
using RxStreams.Tests.Sockets;
using RxStreams.Tests.Tls;

namespace RxStreams.Tests.Connections;

/// <summary>
/// The writer's accounting on TLS over <see cref="InMemoryConnection.CreatePair"/>: the transport matrix
/// (<see cref="TransportKind"/>) runs TLS over TCP only, and the TLS channel wraps any channel.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class TlsOverInMemoryWriterTests
{
    private const int TransferCapacity = 64 * 1024;
    private const int RecordPlaintext = 16 * 1024;

    [Test]
    public async Task BufferSize_ExcludesRecordsAlreadyInThePeersPipe()
    {
        // As WriterTests.BufferSize_ExcludesBytesAlreadyHandedToTheKernel, with the peer's pipe in place of the kernel:
        // the peer does not read, so the pipe fills with the ciphertext of whole records (each a few dozen bytes larger
        // than its 16 KiB of plaintext), at least three of them, and those left the writer.
        await using var pair = InMemoryConnection.CreatePair(transferCapacity: TransferCapacity);
        var (client, server) = pair;
        await Task.WhenAll(server.Writer.StartTlsAsync(TestCertificates.ServerOptions()), client.Writer.StartTlsAsync(TestCertificates.TrustingClient())).Within();

        const int Total = 4 * 1024 * 1024;
        client.Writer.Write(new byte[Total]);
        var drain = client.Writer.DrainAsync().AsTask();
        _ = drain.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed even if an assertion fails first

        long stalled = await WriterTests.WaitUntilStableAsync(() => client.Writer.BufferSize);
        TestContext.Out.WriteLine($"the writer buffers {stalled} of {Total} with the peer's {TransferCapacity}-byte pipe full");
        const int wholeRecords = TransferCapacity / (RecordPlaintext + 64);
        try
        {
            Assert.Multiple(() =>
            {
                Assert.That(drain.IsCompleted, Is.False, "the peer does not read");
                Assert.That(stalled, Is.LessThanOrEqualTo(Total - (wholeRecords * RecordPlaintext)), "records whose ciphertext is in the peer's pipe are no longer buffered by the writer");
            });
        }
        catch
        {
            client.Abort(); // a graceful close would wait for the unread megabytes until the close timeout
            throw;
        }

        long received = 0;
        while (received < Total)
        {
            var chunk = await server.Reader.ReadAsync(TransferCapacity).Within();
            Assert.That(chunk.Length, Is.Positive, "the peer's input ended early");
            received += chunk.Length;
        }

        await drain.Within();
        await WriterTests.WaitUntilEmptyAsync(client.Writer);
        Assert.That(client.Writer.BufferSize, Is.Zero);
    }
}
