using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Backpressure;

/// <summary>Issue 3: a hard cap on the writer's buffer with a documented policy; never silent loss, never unbounded growth.</summary>
[TestFixture]
public sealed class WriteBufferCapTests
{
    private static readonly byte[] Chunk = new byte[256 * 1024];

    [Test]
    public async Task Cap_DefaultPolicy_FailsTheWriteAndAbortsTheConnection()
    {
        var options = new ConnectionOptions { MaxWriteBufferSize = 1024 * 1024 };
        await using var pair = await ClientAndPeer.OpenAsync(options, peerReceiveBuffer: Loopback.SmallSocketBuffer);
        var writer = pair.Connection.Writer;

        // The peer never reads: the kernel buffers fill, then the writer's own buffer reaches the cap.
        var overflow = Assert.Throws<WriteBufferOverflowException>(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                writer.Write(Chunk);
            }
        });

        Assert.Multiple(() =>
        {
            Assert.That(overflow!.MaxBufferSize, Is.EqualTo(1024 * 1024));
            Assert.That(overflow.BufferSize + overflow.WriteSize, Is.GreaterThan(1024 * 1024));
            Assert.That(writer.BufferSize, Is.LessThanOrEqualTo(1024 * 1024), "never past the cap");
            Assert.That(pair.Connection.Error, Is.SameAs(overflow), "the connection was aborted with it");
            Assert.Throws<WriteBufferOverflowException>(() => writer.Write(Chunk), "later writes raise the same error");
        });

        // The peer is told: a reset, not a clean end that would pass a truncated stream for a whole one.
        var reset = Assert.ThrowsAsync<SocketException>(async () => await pair.Peer.ReceiveToEndAsync());
        Assert.That(reset!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
    }

    [Test]
    public async Task Cap_RejectWritePolicy_RefusesOnlyThatWrite_ConnectionGoesOn()
    {
        var options = new ConnectionOptions { MaxWriteBufferSize = 1024 * 1024, WriteBufferOverflow = WriteBufferOverflowPolicy.RejectWrite };
        await using var pair = await ClientAndPeer.OpenAsync(options, peerReceiveBuffer: Loopback.SmallSocketBuffer);
        var writer = pair.Connection.Writer;

        long accepted = 0;
        Assert.Throws<WriteBufferOverflowException>(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                writer.Write(Chunk);
                accepted += Chunk.Length;
            }
        });
        Assert.That(pair.Connection.Error, Is.Null, "the connection is still healthy");

        // The peer reads everything that was accepted; the drain then completes and writing goes on.
        var reading = pair.Peer.ReceiveExactlyAsync((int)accepted + 3);
        await writer.DrainAsync().Within();
        writer.Write(Loopback.Bytes("end"));
        var received = await reading.Within();
        Assert.That(Loopback.Text(received.AsSpan(received.Length - 3).ToArray()), Is.EqualTo("end"), "every accepted byte, then the later write");
    }
}
