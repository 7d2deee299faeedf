using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Tls;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// A graceful close loses nothing: bytes the peer sent and nobody read must not turn our close into a
/// reset that throws away what we wrote before it. The close lingers: FIN, then input is read and discarded until the
/// peer's EOF, bounded in time (<see cref="ConnectionOptions.CloseTimeout"/>) and bytes, and running out of either bound
/// is the connection's error, never silent.
/// </summary>
[TestFixture]
public sealed class GracefulCloseTests
{
    private const int PayloadSize = 4 * 1024 * 1024;
    private const int HeldBackTail = 256 * 1024;
    private const int PeerReceiveBuffer = 64 * 1024; // the peer's window holds a small part of the tail ...
    private const int OurSendBuffer = 1024 * 1024; // ... our send buffer the rest (the kernel may cap it at 2 x 208 KiB)
    private static readonly byte[] Payload = Loopback.Pattern(PayloadSize, seed: 11);

    private DirectoryInfo? _directory;

    [TearDown]
    public void DeleteDirectory()
    {
        _directory?.Delete(recursive: true);
        _directory = null;
    }

    [Test]
    public async Task WriterClose_WithTheGreetingUnread_PeerReadsEveryByteThenEof_OverTcp()
    {
        var closeBegun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var closedCleanly = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (_, writer) =>
            {
                writer.Socket!.SendBufferSize = OurSendBuffer;
                writer.Write(Payload); // the greeting is never read: it stays in our socket's receive buffer
                writer.Close();
                await SignalWhenCloseBegunAsync(writer, closeBegun);
                try
                {
                    await writer.WaitClosedAsync();
                    closedCleanly.TrySetResult(null);
                }
                catch (Exception error)
                {
                    closedCleanly.TrySetResult(error);
                }
            },
            "127.0.0.1",
            0);
        await using var guard = Loopback.Guard(server);

        using var peer = await Loopback.ConnectRawAsync(new IPEndPoint(IPAddress.Loopback, server.Port()), receiveBuffer: PeerReceiveBuffer);
        await peer.SendAllAsync("hello, nobody reads this\n");
        var received = await ReadHoldingBackTheTailAsync(buffer => peer.ReceiveAsync(buffer, SocketFlags.None), closeBegun.Task);
        Assert.That(received, Is.EqualTo(Payload), "every byte written before Close(), then EOF (a reset would have thrown)");

        peer.Shutdown(SocketShutdown.Send); // our EOF ends the server's lingering close
        Assert.That(await closedCleanly.Task.Within(), Is.Null, "WaitClosedAsync succeeds once the peer ended its side");
    }

    [Test]
    public async Task HandlerReturns_WithTheGreetingUnread_PeerReadsEveryByteThenEof_OverUnixSocket()
    {
        _directory = Directory.CreateTempSubdirectory("rxs-");
        var path = Path.Combine(_directory.FullName, "linger.sock");
        var closeBegun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartUnixServerAsync(
            (reader, writer) =>
            {
                writer.Socket!.SendBufferSize = OurSendBuffer;
                writer.Write(Payload);
                _ = SignalWhenCloseBegunAsync(writer, closeBegun);
                return Task.CompletedTask; // the server closes the connection gracefully when its handler returns
            },
            path);
        await using var guard = Loopback.Guard(server);

        using var peer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await peer.ConnectAsync(new UnixDomainSocketEndPoint(path)).WaitAsync(Loopback.Timeout);
        await peer.SendAllAsync("hello, nobody reads this\n");
        var received = await ReadHoldingBackTheTailAsync(buffer => peer.ReceiveAsync(buffer, SocketFlags.None), closeBegun.Task);
        Assert.That(received, Is.EqualTo(Payload), "every byte written before the handler returned, then EOF");
    }

    [Test]
    public async Task ServerCloses_WithTheGreetingUnread_PeerReadsEveryByteThenCloseNotify_OverTls13()
    {
        var closeBegun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                writer.Socket!.SendBufferSize = OurSendBuffer;
                writer.Write(Payload);
                writer.Close();
                await SignalWhenCloseBegunAsync(writer, closeBegun);
                await writer.WaitClosedAsync();
            },
            "127.0.0.1",
            0,
            new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);

        using var socket = await Loopback.ConnectRawAsync(new IPEndPoint(IPAddress.Loopback, server.Port()), receiveBuffer: PeerReceiveBuffer);
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 leaf && IssuedByTheTestCa(leaf),
        }).WaitAsync(Loopback.Timeout);
        Assert.That(ssl.SslProtocol, Is.EqualTo(SslProtocols.Tls13));
        await ssl.WriteAsync(Loopback.Bytes("hello, nobody reads this\n")).AsTask().WaitAsync(Loopback.Timeout);
        var received = await ReadHoldingBackTheTailAsync(buffer => ssl.ReadAsync(buffer), closeBegun.Task); // close_notify is the EOF
        Assert.That(received, Is.EqualTo(Payload), "every byte written before Close(), then close_notify");
    }

    [Test]
    public async Task ClientDisposeAsync_WithTheServersGreetingUnread_ServerReadsEveryByteThenEof()
    {
        using var listener = Loopback.Listen(receiveBuffer: PeerReceiveBuffer);
        var accepting = listener.AcceptAsync();
        var connection = await Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port).Within();
        using var peer = await accepting.Within();
        await peer.SendAllAsync("220 welcome, nobody reads this\r\n");

        connection.Socket!.SendBufferSize = OurSendBuffer;
        connection.Writer.Write(Payload);
        var disposing = connection.DisposeAsync().AsTask(); // completes only after the lingering close
        var closeBegun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = SignalWhenCloseBegunAsync(connection.Writer, closeBegun);
        var received = await ReadHoldingBackTheTailAsync(buffer => peer.ReceiveAsync(buffer, SocketFlags.None), closeBegun.Task);
        Assert.That(received, Is.EqualTo(Payload), "every byte written before DisposeAsync, then EOF");

        peer.Shutdown(SocketShutdown.Send);
        await disposing.Within();
        Assert.That(connection.Error, Is.Null);
    }

    [Test]
    public async Task PeerThatNeverEndsItsSide_CloseTimeoutRunsOut_ReportedAsTheConnectionsError()
    {
        var scheduler = new AnnouncingTestScheduler();
        var closeTimeout = TimeSpan.FromSeconds(5);
        using var listener = Loopback.Listen();
        var accepting = listener.AcceptAsync();
        var connection = await Streams.OpenConnectionAsync(
            "127.0.0.1",
            ((IPEndPoint)listener.LocalEndPoint!).Port,
            new ConnectionOptions { Scheduler = scheduler, CloseTimeout = closeTimeout }).Within();
        using var peer = await accepting.Within();
        await peer.SendAllAsync("greeting nobody reads\n");

        connection.Writer.Write(Loopback.Bytes("bye\n"));
        connection.Writer.Close(); // the peer reads this but never sends its EOF
        Assert.That(Loopback.Text(await peer.ReceiveExactlyAsync(4)), Is.EqualTo("bye\n"));
        await connection.Writer.WaitClosedAsync().Within(); // closed for us at once, as asyncio; the socket lingers
        Assert.That(await scheduler.FirstTimer.Within(), Is.EqualTo(closeTimeout), "the linger is bounded by CloseTimeout");
        Assert.That(connection.Error, Is.Null, "still lingering: the peer has not ended its side");

        scheduler.AdvanceBy(closeTimeout);
        Assert.That(await SendUntilResetAsync(peer), Is.True, "the linger gave up with a reset");
        Assert.That(connection.Error, Is.InstanceOf<TimeoutException>(), "the error is set before the reset is sent");
        Assert.That(connection.Error!.Message, Does.Contain("CloseTimeout"));
    }

    [Test]
    public async Task ServerConnection_PeerNeverEndsItsSide_CloseTimeoutRunsOut_ReachesServerErrors()
    {
        // By the time the linger gives up, the handler is gone and WaitClosedAsync has returned: the server's Errors
        // (and its logger) is where the news must go, never nowhere.
        var scheduler = new AnnouncingTestScheduler();
        var closeTimeout = TimeSpan.FromSeconds(5);
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await Streams.StartServerAsync(
            (_, writer) =>
            {
                writer.Write(Loopback.Bytes("bye\n"));
                return Task.CompletedTask; // the handler returns: a graceful close, then the linger
            },
            "127.0.0.1",
            0,
            new ServerOptions { Scheduler = scheduler, CloseTimeout = closeTimeout });
        await using var guard = Loopback.Guard(server);
        using var errors = server.Errors.Subscribe(error => reported.TrySetResult(error));

        using var peer = await Loopback.ConnectRawAsync(new IPEndPoint(IPAddress.Loopback, server.Port()));
        await peer.SendAllAsync("greeting nobody reads\n");
        Assert.That(Loopback.Text(await peer.ReceiveToEndAsync()), Is.EqualTo("bye\n"), "every byte, then our FIN");

        // The linger's timer is scheduled around the FIN the peer just saw, so advance until it has fired (bounded).
        await scheduler.FirstTimer.Within();
        for (int i = 0; i < 500 && !reported.Task.IsCompleted; i++)
        {
            scheduler.AdvanceBy(closeTimeout);
            await Task.WhenAny(reported.Task, Task.Delay(20));
        }

        var error = await reported.Task.Within();
        Assert.That(error, Is.InstanceOf<TimeoutException>());
        Assert.That(error.Message, Does.Contain("CloseTimeout"));
    }

    [Test]
    public async Task PeerThatKeepsSendingAfterOurClose_ByteBoundRunsOut_ReportedAsTheConnectionsError()
    {
        using var listener = Loopback.Listen();
        var accepting = listener.AcceptAsync();
        var connection = await Streams.OpenConnectionAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port).Within();
        using var peer = await accepting.Within();

        connection.Writer.Close();
        Assert.That(await peer.ReceiveToEndAsync(), Is.Empty, "our FIN");

        // Far more than the linger discards, and no EOF: the close gives up with an error rather than read forever.
        var flood = new byte[64 * 1024];
        bool reset = false;
        for (int i = 0; i < 1024 && !reset; i++) // at most 64 MiB
        {
            try
            {
                await peer.SendAllAsync(flood);
            }
            catch (SocketException)
            {
                reset = true; // the reset that ends the linger
            }
        }

        Assert.That(reset, Is.True, "the linger gave up with a reset");
        Assert.That(connection.Error, Is.InstanceOf<IOException>(), "the error is set before the reset is sent");
        Assert.That(connection.Error!.Message, Does.Contain("discard"));
    }

    /// <summary>
    /// Reads all but the last <see cref="HeldBackTail"/> bytes, waits until <paramref name="closeBegun"/> (the writer has
    /// handed its last byte to the kernel and closed), then reads the rest to the EOF. The tail is small enough for the
    /// kernel's buffers to hold whole, so the close always happens while the peer still has unread bytes: a reset then
    /// destroys them, which is what the test catches.
    /// </summary>
    /// <summary>
    /// After the peer's EOF was read there is nothing to linger for (nothing unread, nothing more to come): the echo's
    /// close releases the socket at once, without the CloseTimeout deadline a linger schedules, and the peer still gets
    /// every byte, then EOF.
    /// </summary>
    [Test]
    public async Task CloseAfterThePeersEof_ReleasesAtOnce_WithoutALingerDeadline()
    {
        var closeTimeout = TimeSpan.FromSeconds(437); // only a linger schedules this due time
        var scheduler = new RecordingScheduler();
        var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Scheduler = scheduler, CloseTimeout = closeTimeout });
        await using var guard = Loopback.Guard(server);
        var accepted = new TaskCompletionSource<StreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var echo = server.Subscribe(c =>
        {
            c.Reader.Lines().Subscribe(c.Writer); // the peer's EOF: WriteEof, then both directions are done and it closes
            accepted.TrySetResult(c);
        });

        using var peer = await Loopback.ConnectRawAsync(new IPEndPoint(IPAddress.Loopback, server.Port()));
        await peer.SendAllAsync("hello\nworld\n");
        peer.Shutdown(SocketShutdown.Send);
        Assert.That(Encoding.ASCII.GetString(await peer.ReceiveToEndAsync().Within()), Is.EqualTo("hello\nworld\n"));

        var connection = await accepted.Task.Within();
        await connection.Closed.Within();
        Assert.Multiple(() =>
        {
            Assert.That(IsDisposed(connection.Socket!), Is.True, "the socket is released by the close itself, not after a linger");
            Assert.That(scheduler.DueTimes, Does.Not.Contain(closeTimeout), "no linger deadline was scheduled");
        });
    }

    private static async Task<byte[]> ReadHoldingBackTheTailAsync(Func<Memory<byte>, ValueTask<int>> receive, Task closeBegun)
    {
        var received = new byte[PayloadSize + 1];
        int have = 0;
        while (have < PayloadSize - HeldBackTail)
        {
            int n = await receive(received.AsMemory(have, PayloadSize - HeldBackTail - have)).AsTask().WaitAsync(Loopback.Timeout);
            if (n == 0)
            {
                return received[..have];
            }

            have += n;
        }

        await closeBegun.Within();
        while (have < received.Length)
        {
            int n = await receive(received.AsMemory(have)).AsTask().WaitAsync(Loopback.Timeout); // a reset throws here
            if (n == 0)
            {
                return received[..have];
            }

            have += n;
        }

        throw new InvalidOperationException("More bytes than were written arrived.");
    }

    /// <summary>
    /// Signals once the writer's connection has begun closing: every byte is with the kernel. Nothing announces that moment,
    /// so this polls a state flag (bounded; the outcome does not depend on how soon the poll sees it).
    /// </summary>
    private static async Task SignalWhenCloseBegunAsync(ConnectionWriter writer, TaskCompletionSource closeBegun)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (!writer.Core.IsClosed)
        {
            if (DateTime.UtcNow > deadline)
            {
                closeBegun.TrySetException(new TimeoutException("The writer did not begin its close."));
                return;
            }

            await Task.Delay(5);
        }

        closeBegun.TrySetResult();
    }

    /// <summary>Sends until the peer's reset makes a send fail (at most 64 MiB): whether it did.</summary>
    private static async Task<bool> SendUntilResetAsync(Socket peer)
    {
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < 1024; i++)
        {
            try
            {
                await peer.SendAllAsync(chunk);
            }
            catch (SocketException)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IssuedByTheTestCa(X509Certificate2 leaf)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(TestCertificates.Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    private static bool IsDisposed(Socket socket)
    {
        try
        {
            _ = socket.Available;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>The default scheduler, recording the due time of every relative schedule.</summary>
    private sealed class RecordingScheduler : IScheduler
    {
        private readonly List<TimeSpan> _dueTimes = [];

        public DateTimeOffset Now => DefaultScheduler.Instance.Now;

        public IReadOnlyList<TimeSpan> DueTimes
        {
            get
            {
                lock (_dueTimes)
                {
                    return [.. _dueTimes];
                }
            }
        }

        public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
            DefaultScheduler.Instance.Schedule(state, action);

        public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
        {
            lock (_dueTimes)
            {
                _dueTimes.Add(dueTime);
            }

            return DefaultScheduler.Instance.Schedule(state, dueTime, action);
        }

        public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
            DefaultScheduler.Instance.Schedule(state, dueTime, action);
    }
}
