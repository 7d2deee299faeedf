using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Internal;

namespace RxStreams.Tests.Sockets;

/// <summary>
/// The opt-in event-loop channel (<c>RXSTREAMS_CHANNEL=eventloop</c>, ADR 0016) directly, whatever the process selected:
/// a <see cref="SocketChannel"/> whose waits are served by a private edge-triggered <see cref="EventLoop"/> shared by
/// every channel of the fixture. Each test is one way such a loop can lose a wake. Unix sockets, because what the peer
/// sends is then queued before its call returns: the edges a test relies on are deterministic.
/// </summary>
[TestFixture]
public sealed class EventLoopChannelTests
{
    private static readonly Lazy<EventLoop> SharedLoop = new(() => new EventLoop("RxStreams test event loop"));

    private readonly List<IDisposable> _owned = [];
    private DirectoryInfo _directory = null!;
    private Socket _listener = null!;

    private static EventLoop Loop => SharedLoop.Value;

    [SetUp]
    public void Listen()
    {
        Assume.That(Epoll.IsSupported, "epoll on Linux x86-64 only");
        _directory = Directory.CreateTempSubdirectory("rxs-");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(_directory.FullName, "loop.sock")));
        _listener.Listen(16);
    }

    [TearDown]
    public void CleanUp()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        _owned.Clear();
        _listener?.Dispose();
        _directory?.Delete(recursive: true);
    }

    [Test]
    public async Task HangUpThatCameWithTheLastData_WakesTheWaitAfterIt()
    {
        // Data and FIN queued before the socket is registered: one edge reports both, and none will come after it.
        var (socket, peer) = await ConnectAsync();
        peer.Send(Loopback.Bytes("last"));
        peer.Shutdown(SocketShutdown.Send);
        var channel = Watch(socket);
        var buffer = default(ReadBuffer);

        await channel.WaitAsync(CancellationToken.None).Within();
        Assert.That(channel.TryReceive(ref buffer, ReceiveStrategy.Kept), Is.EqualTo(4), "sized by what is queued: drained");
        Assert.That(channel.TryReceive(ref buffer, ReceiveStrategy.Kept), Is.EqualTo(-1), "a drained socket is not asked again");

        await channel.WaitAsync(CancellationToken.None).Within(); // the end must wake it: no edge will
        Assert.That(channel.TryReceive(ref buffer, ReceiveStrategy.Kept), Is.Zero, "the end of the input");
    }

    [Test]
    public async Task WaitAfterAFullReceive_CompletesWhileDataIsStillQueued()
    {
        // More than one receive takes, queued before registering; the peer then sends nothing more (as a peer blocked on
        // full buffers would not), so no edge comes for what is still queued.
        var (socket, peer) = await ConnectAsync();
        var payload = Loopback.Pattern(4 * ReadBuffer.DefaultArraySize);
        Assert.That(peer.Send(payload), Is.EqualTo(payload.Length));
        var channel = Watch(socket);
        var buffer = default(ReadBuffer);
        int total = 0;

        await channel.WaitAsync(CancellationToken.None).Within();
        int first = channel.TryReceive(ref buffer, ReceiveStrategy.Pooled);
        Assert.That(first, Is.GreaterThan(0).And.LessThan(payload.Length), "a full receive, more queued");
        total += first;
        buffer.Clear();

        // What TLS's zero-byte read does: wait without receiving first.
        while (total < payload.Length)
        {
            await channel.WaitAsync(CancellationToken.None).Within();
            int received = channel.TryReceive(ref buffer, ReceiveStrategy.Pooled);
            Assert.That(received, Is.Not.Zero, "no end: the peer is still open");
            total += Math.Max(received, 0);
            buffer.Clear();
        }

        Assert.That(total, Is.EqualTo(payload.Length));
        buffer.ReleaseIfEmpty();
    }

    [Test]
    public async Task WaiterThatBlocksOnAnotherChannelOfItsLoop_DoesNotHoldTheLoop()
    {
        // The lost wake of TlsConnectionTests.WrongName_IsRefused_EmptyServerNameSkipsOnlyTheNameCheck with one event
        // loop: a TLS handshake's wait resumed OpenConnectionAsync's caller on the loop's thread, the caller blocked there
        // in a synchronous wait (Assert.ThrowsAsync) for another handshake on the same loop, which the loop, held, never
        // served. A wait other than the push reader's must resume off the loop.
        var (first, firstPeer) = await ConnectAsync();
        var (second, secondPeer) = await ConnectAsync();
        var blocking = Watch(first);
        var other = Watch(second);

        var outcome = ResumeThenBlockAsync(blocking.WaitAsync(CancellationToken.None), () =>
        {
            var otherWoke = other.WaitAsync(CancellationToken.None).AsTask();
            secondPeer.Send(Loopback.Bytes("b"));
            return otherWoke.Wait(Loopback.Timeout); // synchronous: needs the loop to serve the other channel meanwhile
        });
        firstPeer.Send(Loopback.Bytes("a"));

        Assert.That(await outcome.Within(), Is.True, "the other channel on the same loop was woken while this waiter blocked");
    }

    [Test]
    public async Task PushReadersWait_ResumesOnTheLoopThread()
    {
        // Run to completion: receive, decode, subscribers and send on the loop's thread, no thread-pool hop.
        var (socket, peer) = await ConnectAsync();
        var channel = Watch(socket);

        var resumedOnLoop = ResumeAsync(channel.WaitInlineAsync(CancellationToken.None), () => Loop.IsLoopThread);
        peer.Send(Loopback.Bytes("x"));

        Assert.That(await resumedOnLoop.Within(), Is.True);
    }

    [Test]
    public async Task TwoWaitersOnOneChannel_OneEdge_WakesBoth()
    {
        // A push reader still waiting while the lingering close waits too: one edge must not go to one of them only.
        var (socket, peer) = await ConnectAsync();
        var channel = Watch(socket);

        var reader = channel.WaitInlineAsync(CancellationToken.None).AsTask();
        var linger = channel.WaitAsync(CancellationToken.None).AsTask();
        peer.Send(Loopback.Bytes("x"));

        await Task.WhenAll(reader, linger).Within();
    }

    [Test]
    public async Task CancelledWaits_LeaveTheNextWaitWorking()
    {
        // Pull reads with a timeout on a quiet connection: each cancelled wait is forgotten, the next one still wakes.
        var (socket, peer) = await ConnectAsync();
        var channel = Watch(socket);
        for (int i = 0; i < 100; i++)
        {
            using var cancel = new CancellationTokenSource();
            var wait = channel.WaitAsync(cancel.Token).AsTask();
            cancel.Cancel();
            Assert.That(async () => await wait.Within(), Throws.InstanceOf<OperationCanceledException>());
        }

        var woken = channel.WaitAsync(CancellationToken.None).AsTask();
        peer.Send(Loopback.Bytes("x"));
        await woken.Within();
    }

    [Test]
    public async Task SocketDisposedUnderTheChannel_ItsCloseLeavesTheNumbersNextOwnerRegistered()
    {
        // A socket closed behind the channel's back (its Socket is public) frees its descriptor number, and the next
        // socket of the process takes it. Closing the first channel must not remove the second from the loop's epoll set
        // by that number (EPOLL_CTL_DEL takes a number, not a socket), or the second never wakes.
        var (first, firstPeer) = await ConnectAsync();
        var firstChannel = Watch(first);
        long number = DescriptorOf(first);
        first.Dispose();

        // A new socket takes the lowest free number: fill any lower gaps until one takes the freed number.
        Socket? second = null;
        for (int i = 0; i < 4096 && second is null; i++)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _owned.Add(socket);
            long taken = DescriptorOf(socket);
            if (taken == number)
            {
                second = socket;
            }
            else if (taken > number)
            {
                break; // some other thread of the process took it meanwhile
            }
        }

        Assume.That(second, Is.Not.Null, "the freed number went to a socket of this test");
        await second!.ConnectAsync(_listener.LocalEndPoint!).WaitAsync(Loopback.Timeout);
        var secondPeer = await _listener.AcceptAsync().WaitAsync(Loopback.Timeout);
        _owned.Add(secondPeer);
        var secondChannel = Watch(second);

        try
        {
            firstChannel.Close(abort: false);
        }
        catch (ObjectDisposedException)
        {
            // Its socket is gone already; what matters is what the close did to the loop.
        }

        var woken = secondChannel.WaitAsync(CancellationToken.None).AsTask();
        secondPeer.Send(Loopback.Bytes("x"));
        await woken.Within();
        GC.KeepAlive(firstPeer);
    }

    private static long DescriptorOf(Socket socket) => socket.SafeHandle.DangerousGetHandle().ToInt64();

    private static async Task<T> ResumeAsync<T>(ValueTask<int> wait, Func<T> then)
    {
        await wait.ConfigureAwait(false);
        return then();
    }

    private static Task<bool> ResumeThenBlockAsync(ValueTask<int> wait, Func<bool> block) => ResumeAsync(wait, block);

    private SocketChannel Watch(Socket socket)
    {
        var channel = new SocketChannel(socket, Loop);
        _owned.Add(new Closing(channel));
        return channel;
    }

    /// <summary>A connected pair: the socket for the channel, and its raw peer.</summary>
    private async Task<(Socket Socket, Socket Peer)> ConnectAsync()
    {
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _owned.Add(client);
        await client.ConnectAsync(_listener.LocalEndPoint!).WaitAsync(Loopback.Timeout);
        var accepted = await _listener.AcceptAsync().WaitAsync(Loopback.Timeout);
        _owned.Add(accepted);
        return (accepted, client);
    }

    private sealed class Closing(SocketChannel channel) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                channel.Close(abort: true);
            }
            catch (ObjectDisposedException)
            {
                // Its socket was disposed by the test already.
            }
        }
    }
}
