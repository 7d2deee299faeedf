using System.Runtime.CompilerServices;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary>
/// Handlers that misbehave: each takes down only its own connection, the server keeps accepting (a second client is
/// served every time), and no task exception goes unobserved (the assembly-wide guard checks after every test).
/// </summary>
public class HandlerFaultTests
{
    /// <summary>An echo round trip by a fresh client: proof that the server still accepts and serves.</summary>
    private static async Task AssertServesAnotherClientAsync(StreamServer server)
    {
        var (reader, writer) = await Streams.OpenConnectionAsync("127.0.0.1", server.Port()).Within();
        writer.Write(Loopback.Bytes("second client\n"));
        Assert.That(Loopback.Text(await reader.ReadLineAsync().Within()), Is.EqualTo("second client\n"), "the server still serves");
        writer.Close();
        await writer.WaitClosedAsync().Within();
    }

    /// <summary>A server whose first connection gets <paramref name="firstHandler"/> and every later one a line echo.</summary>
    private static async Task<StreamServer> StartAsync(Func<StreamConnection, Task> firstHandler, ServerOptions? options = null)
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0, options).Within();
        int count = 0;
        server.Subscribe(connection =>
        {
            if (Interlocked.Increment(ref count) == 1)
            {
                _ = Task.Run(() => firstHandler(connection));
            }
            else
            {
                connection.Reader.Lines().Subscribe(connection.Writer);
            }
        });
        return server;
    }

    [Test]
    public async Task SubscriberOnNextThrows_OnlyItsConnectionIsAborted_TheErrorIsReported()
    {
        var boom = new InvalidOperationException("handler bug");
        var server = await StartAsync(connection =>
        {
            connection.Reader.Lines().Subscribe(_ => throw boom);
            return Task.CompletedTask;
        });
        await using var guard = AbortOnDispose(server);
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var log = server.Errors.Subscribe(e => reported.TrySetResult(e));

        using var victim = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await victim.SendAllAsync("crash me\n");
        Assert.That(await reported.Task.Within(), Is.SameAs(boom), "the handler's exception goes to server.Errors");
        Assert.That(await PeerSeesEndAsync(victim), Is.True, "its connection is aborted");
        await AssertServesAnotherClientAsync(server);
    }

    [Test]
    public async Task CallbackHandlerThrows_AfterPartOfTheWork_ClientSeesTheEnd_ServerGoesOn()
    {
        int calls = 0;
        var server = await Streams.StartServerAsync(async (reader, writer) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await reader.ReadLineAsync();
                throw new InvalidDataException("bad request");
            }

            await foreach (var line in reader)
            {
                writer.Write(line);
            }
        }, "127.0.0.1", 0).Within();
        await using var guard = AbortOnDispose(server);
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var log = server.Errors.Subscribe(e => reported.TrySetResult(e));

        using var victim = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await victim.SendAllAsync("hello\n");
        Assert.That(await reported.Task.Within(), Is.InstanceOf<InvalidDataException>());
        Assert.That(await PeerSeesEndAsync(victim), Is.True);
        await AssertServesAnotherClientAsync(server);
    }

    [Test]
    public async Task HandlerThatNeverReads_ItsPeerIsHeldByBackpressure_OthersAreServed_NothingIsReadAhead()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        StreamConnection? idle = null;
        var server = await StartAsync(async connection =>
        {
            idle = connection;
            await release.Task; // never reads
            await connection.DisposeAsync();
        });
        await using var guard = AbortOnDispose(server);

        var (reader, writer) = await Streams.OpenConnectionAsync("127.0.0.1", server.Port(), new ConnectionOptions { MaxWriteBufferSize = 64L * 1024 * 1024 }).Within();
        var block = Loopback.Pattern(256 * 1024);
        for (int i = 0; i < 32; i++)
        {
            writer.Write(block);
        }

        var drain = writer.DrainAsync().AsTask();
        await WaitUntilAsync(() => writer.BufferSize > 0 && idle is not null, "the client's data backs up");
        await AssertServesAnotherClientAsync(server);
        Assert.That(drain.IsCompleted, Is.False, "the client that writes to a non-reading handler waits in drain");
        Assert.That(idle!.Reader.BufferedLength, Is.Zero, "the server read nothing ahead for the handler");

        release.SetResult();
        await idle.Closed.Within();
        Assert.That(async () => await drain.Within(), Throws.InstanceOf<IOException>(), "the handler's close with unread input resets the client, which drain reports");
        _ = reader;
    }

    [Test]
    public async Task HandlerDisposesTwice_AndClosesAndAbortsAfterwards_NothingThrows_ServerGoesOn()
    {
        var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await StartAsync(async connection =>
        {
            try
            {
                connection.Writer.Write(Loopback.Bytes("bye\n"));
                await connection.DisposeAsync();
                await connection.DisposeAsync();
                connection.Dispose();
                connection.Writer.Close();
                connection.Writer.Close();
                connection.Abort();
                await connection.Writer.WaitClosedAsync();
                done.TrySetResult(null);
            }
            catch (Exception error)
            {
                done.TrySetResult(error);
            }
        });
        await using var guard = AbortOnDispose(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);

        Assert.That(await done.Task.Within(), Is.Null, "dispose, close and abort are idempotent");
        Assert.That(Loopback.Text(await client.ReceiveToEndAsync()), Is.EqualTo("bye\n"), "the first close was graceful: the data went out");
        await AssertServesAnotherClientAsync(server);
    }

    [TestCase("Dispose")]
    [TestCase("DisposeAsync")]
    [TestCase("Abort")]
    [TestCase("WriterClose")]
    public async Task DisposedFromAnotherThreadWhileAReadIsPending_TheReadEndsAsEndOfInput(string how)
    {
        var pending = new TaskCompletionSource<Task<ReadOnlyMemory<byte>>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await StartAsync(connection =>
        {
            pending.SetResult(connection.Reader.ReadLineAsync().AsTask());
            return Task.Run(async () =>
            {
                await WaitUntilAsync(() => connection.Reader.BufferedLength == 4, "the start of a line arrived");
                switch (how)
                {
                    case "Dispose": connection.Dispose(); break;
                    case "DisposeAsync": await connection.DisposeAsync(); break;
                    case "Abort": connection.Abort(); break;
                    default: connection.Writer.Close(); break;
                }
            });
        });
        await using var guard = AbortOnDispose(server);
        using var client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        await client.SendAllAsync("part");
        var read = await pending.Task.Within();

        // Our own close is the end of the input (asyncio: local close → EOF): the read returns what it had, never hangs.
        Assert.That(Loopback.Text(await read.Within()), Is.EqualTo("part"));
        Assert.That(await PeerSeesEndAsync(client), Is.True);
        await AssertServesAnotherClientAsync(server);
    }

    [Test]
    public async Task DisposedFromAnotherThreadWhileSubscribed_TheSubscriberCompletes()
    {
        var ended = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await StartAsync(connection =>
        {
            connection.Reader.Lines().Subscribe(_ => { }, e => ended.TrySetResult(e), () => ended.TrySetResult(null));
            return Task.Run(async () =>
            {
                await Task.Yield();
                connection.Abort();
            });
        });
        await using var guard = AbortOnDispose(server);
        System.Net.Sockets.Socket? client = null;
        try
        {
            client = await Loopback.ConnectRawAsync(server.EndPoints[0]);
        }
        catch (System.Net.Sockets.SocketException reset) when (reset.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
        {
            // The server's abort can reach the client before its connect completes: the client's side is not under test.
        }

        using var _ = client;
        Assert.That(await ended.Task.Within(), Is.Null, "an abort of our own is the end of the input, not an error");
        await AssertServesAnotherClientAsync(server);
    }

    [Test]
    public void UnobservedTaskGuard_ReallyFailsATest()
    {
        // The guard is what makes "no unobserved task exceptions" checkable: prove it catches one.
        LeakAFaultedTask();
        var guard = new FailOnUnobservedTaskExceptionsAttribute();

        // The wait in LeakAFaultedTask can return while the pool thread that ran the task still holds it for a moment,
        // so one collection may not finalize it yet: collect again until the guard reports it (bounded).
        AssertionException? failure = null;
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (failure is null && DateTime.UtcNow < deadline)
        {
            try
            {
                guard.AfterTest(null!);
                Thread.Sleep(10);
            }
            catch (AssertionException caught)
            {
                failure = caught;
            }
        }

        Assert.That(failure, Is.Not.Null, "the guard never reported the unobserved exception");
        Assert.That(failure!.Message, Does.Contain("deliberately unobserved"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LeakAFaultedTask()
    {
        var task = Task.Run(static () => throw new InvalidOperationException("deliberately unobserved"));
        ((IAsyncResult)task).AsyncWaitHandle.WaitOne(Loopback.Timeout); // completes it without observing the exception
    }
}
