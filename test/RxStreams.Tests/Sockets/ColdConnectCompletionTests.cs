using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using NUnit.Framework;
using RxStreams.Framing;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// Issue 13 item 5: the cold <see cref="Streams.Connect(string, int, ConnectionOptions?)"/> completes when the server
/// closes, so <c>Connect(...).SelectMany(c => c.Reader...)</c> ends without the client half-closing first.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class ColdConnectCompletionTests
{
    [Test]
    public async Task SelectManyLines_CompletesWhenTheServerCloses_AndTheConnectionIsClosed()
    {
        using var listener = Loopback.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var accepting = listener.AcceptAsync();

        var lines = Streams.Connect("127.0.0.1", port)
            .SelectMany(c =>
            {
                c.Writer.Write(Loopback.Bytes("GET\n"));
                return c.Reader.LinesText();
            })
            .ToList()
            .ToTask();

        using var server = await accepting.Within();
        Assert.That(Loopback.Text(await server.ReceiveExactlyAsync(4)), Is.EqualTo("GET\n"));
        await server.SendAllAsync("one\ntwo\n");
        server.Shutdown(SocketShutdown.Send); // the server is done; it never hears a FIN from the client first

        Assert.That(await lines.Within(), Is.EqualTo(new[] { "one", "two" }), "the sequence completes with every line");
        Assert.That(await server.ReceiveToEndAsync(), Is.Empty, "completing closed the client's connection: the server reads EOF");
    }

    [Test]
    public async Task PullReadToEnd_CompletesWhenTheServerCloses()
    {
        using var listener = Loopback.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var accepting = listener.AcceptAsync();

        var reply = Streams.Connect("127.0.0.1", port)
            .SelectMany(async c => Loopback.Text(await c.Reader.ReadAsync()))
            .ToList()
            .ToTask();

        using (var server = await accepting.Within())
        {
            await server.SendAllAsync("bye");
        }

        Assert.That(await reply.Within(), Is.EqualTo(new[] { "bye" }));
    }
}
