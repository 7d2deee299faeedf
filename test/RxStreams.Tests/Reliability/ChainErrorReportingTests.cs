using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Diagnostics;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary>
/// Errors never vanish: an exception raised in a user's Rx chain on a server connection (a throwing <c>Select</c> in
/// <c>reader.Lines().Select(...).Subscribe(writer)</c>, a second subscription to a reader) ends that connection and is
/// reported on <see cref="StreamServer.Errors"/> and the log with the connection's endpoint; other connections go on.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class ChainErrorReportingTests
{
    private const int HandlerFailed = 3;

    private static async Task<string> EchoRoundTripAsync(Socket client, string line)
    {
        await client.SendAllAsync(line);
        var reply = await client.ReceiveExactlyAsync(line.Length).Within();
        return Loopback.Text(reply);
    }

    [Test]
    public async Task ThrowingSelect_ReportedOnceOnErrorsAndTheLog_WithTheEndpoint_OtherConnectionsGoOn()
    {
        var boom = new FormatException("cannot parse 'boom'");
        var logs = new RecordingLoggerFactory();
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { LoggerFactory = logs }).Within();
        await using var guard = AbortOnDispose(server);
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });
        using var echo = server.Subscribe(c => c.Reader.Lines()
            .Select(line => Loopback.Text(line).StartsWith("boom", StringComparison.Ordinal) ? throw boom : line)
            .Subscribe(c.Writer));

        using var bystander = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        Assert.That(await EchoRoundTripAsync(bystander, "hello\n"), Is.EqualTo("hello\n"));

        using var victim = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await victim.SendAllAsync("boom\n");
        Assert.That(await PeerSeesEndAsync(victim), Is.True, "the failing chain's connection is ended");
        await WaitUntilAsync(() => { lock (errors) { return errors.Count > 0; } }, "the error reaches server.Errors");
        var logged = await logs.WaitForAsync(static e => e.Id == HandlerFailed).Within();

        Assert.That(await EchoRoundTripAsync(bystander, "still here\n"), Is.EqualTo("still here\n"), "the other connection is unaffected");
        lock (errors)
        {
            Assert.That(errors, Is.EqualTo(new[] { boom }), "reported once, the user's own exception");
        }

        Assert.Multiple(() =>
        {
            Assert.That(logged.Error, Is.SameAs(boom));
            Assert.That(logged.Message, Does.Contain(victim.LocalEndPoint!.ToString()), "the log names the connection");
        });
    }

    [Test]
    public async Task SecondSubscriptionToAReader_InvalidOperationExceptionReported_OtherConnectionsGoOn()
    {
        var logs = new RecordingLoggerFactory();
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { LoggerFactory = logs }).Within();
        await using var guard = AbortOnDispose(server);
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });
        int count = 0;
        using var serving = server.Subscribe(c =>
        {
            c.Reader.Lines().Subscribe(c.Writer);
            if (Interlocked.Increment(ref count) == 2)
            {
                c.Reader.Lines().Subscribe(c.Writer); // a bug: the reader has one consumer at a time
            }
        });

        using var bystander = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        Assert.That(await EchoRoundTripAsync(bystander, "one\n"), Is.EqualTo("one\n"));
        // The reset can overtake the connect's own completion (the chain fails at once): bind first to know the endpoint.
        using var victim = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        victim.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            await victim.ConnectAsync(server.EndPoints[0]).Within();
            Assert.That(await PeerSeesEndAsync(victim), Is.True, "the connection with the bug is ended");
        }
        catch (SocketException reset) when (reset.SocketErrorCode == SocketError.ConnectionReset)
        {
            // ended before the connect completed here
        }

        await WaitUntilAsync(() => { lock (errors) { return errors.Count > 0; } }, "the error reaches server.Errors");
        var logged = await logs.WaitForAsync(static e => e.Id == HandlerFailed).Within();
        Assert.That(await EchoRoundTripAsync(bystander, "two\n"), Is.EqualTo("two\n"), "the other connection is unaffected");

        lock (errors)
        {
            Assert.That(errors, Has.Count.EqualTo(1));
            Assert.That(errors[0], Is.InstanceOf<InvalidOperationException>());
        }

        Assert.That(logged.Message, Does.Contain(victim.LocalEndPoint!.ToString()));
    }

    [Test]
    public async Task PeerResetUnderAnEchoChain_IsTheConnectionsOwnFailure_NotReported()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0).Within();
        await using var guard = AbortOnDispose(server);
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });
        var closed = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var echo = server.Subscribe(c =>
        {
            c.Reader.Lines().Subscribe(c.Writer);
            _ = c.Closed.ContinueWith(_ => closed.TrySetResult(c), TaskScheduler.Default);
        });

        using (var client = await Loopback.ConnectRawAsync(server.EndPoints[0]))
        {
            Assert.That(await EchoRoundTripAsync(client, "hi\n"), Is.EqualTo("hi\n"));
            await client.SendAllAsync("half a li");
            client.Reset();
        }

        await (await closed.Task.Within()).Closed.Within();
        await AssertServesAsync(server);
        lock (errors)
        {
            Assert.That(errors, Is.Empty, "a peer's reset is not a bug in the chain: nothing to report");
        }
    }

    private static async Task AssertServesAsync(StreamServer server)
    {
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        Assert.That(await EchoRoundTripAsync(client, "next\n"), Is.EqualTo("next\n"));
    }
}
