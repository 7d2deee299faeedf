using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Connections;

/// <summary>
/// asyncio's StreamReader pull methods (reference §1.5) on every transport (<see cref="TransportKind"/>): the RxStreams
/// client reads, the peer writes. Every wait is bounded.
/// </summary>
[TestFixture(TransportKind.Tcp)]
[TestFixture(TransportKind.Unix)]
[TestFixture(TransportKind.InMemory)]
[TestFixture(TransportKind.Tls)]
[CancelAfter(30_000)]
public class ReaderPullTests(TransportKind transport)
{
    private static ConnectionOptions WithLimit(int limit) => new() { Limit = limit };

    [Test]
    public async Task ReadN_ReturnsAtMostNOfWhatIsAvailable_ThenReadToEof()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("hello world");
        await pair.Peer.ShutdownSendAsync();

        var first = await pair.Reader.ReadAsync(5).Within();
        var rest = await pair.Reader.ReadAsync(-1).Within();
        var afterEof = await pair.Reader.ReadAsync(100).Within();

        Assert.Multiple(() =>
        {
            Assert.That(first.Length, Is.InRange(1, 5), "read(5) returns at most 5 bytes");
            Assert.That(Loopback.Text(first) + Loopback.Text(rest), Is.EqualTo("hello world"));
            Assert.That(afterEof.IsEmpty, Is.True, "read(n) at EOF returns b''");
            Assert.That(pair.Reader.AtEof, Is.True);
        });
    }

    [Test]
    public async Task ReadN_WaitsOnceThenReturnsWhatArrived()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var pending = pair.Reader.ReadAsync(1000);
        Assert.That(pending.IsCompleted, Is.False, "no byte has been sent yet");

        await pair.Peer.SendAllAsync("abc");
        var data = await pending.Within();

        // read(n) returns what is available (possibly fewer than n); it does not wait for n bytes.
        Assert.That(Loopback.Text(data), Is.EqualTo("abc"));
    }

    [Test]
    public async Task ReadMinusOne_ReadsEverythingToEof_LargePayload()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var payload = Loopback.Pattern(3 * 1024 * 1024 + 17);
        var sending = Task.Run(async () =>
        {
            await pair.Peer.SendAllAsync(payload);
            await pair.Peer.ShutdownSendAsync();
        });

        var all = await pair.Reader.ReadAsync().Within();
        await sending.Within();

        Assert.Multiple(() =>
        {
            Assert.That(all.Length, Is.EqualTo(payload.Length), "the limit (64 KiB) does not cap read(-1)");
            Assert.That(all.Span.SequenceEqual(payload), Is.True);
            Assert.That(pair.Reader.AtEof, Is.True);
        });
    }

    [Test]
    public async Task ReadZero_ReturnsEmptyAtOnce_WithNoDataAndNoEof()
    {
        await using var pair = await TransportKit.OpenAsync(transport);

        var zero = pair.Reader.ReadAsync(0);

        Assert.That(zero.IsCompletedSuccessfully, Is.True, "read(0) must not wait");
        Assert.That((await zero).IsEmpty, Is.True);

        // And nothing was consumed: the next data is still there.
        await pair.Peer.SendAllAsync("x");
        Assert.That(Loopback.Text(await pair.Reader.ReadAsync(10).Within()), Is.EqualTo("x"));
    }

    [Test]
    public async Task ReadLine_ReturnsLines_ThenUnterminatedLastLine_ThenEmpty()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("one\ntwo\n");
        await pair.Peer.SendAllAsync("three");
        await pair.Peer.ShutdownSendAsync();

        var lines = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            var line = await pair.Reader.ReadLineAsync().Within();
            if (line.IsEmpty)
            {
                break;
            }

            lines.Add(Loopback.Text(line));
        }

        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(new[] { "one\n", "two\n", "three" }));
            Assert.That(pair.Reader.AtEof, Is.True);
        });
        Assert.That((await pair.Reader.ReadLineAsync().Within()).IsEmpty, Is.True, "readline at EOF keeps returning b''");
    }

    [Test]
    public async Task ReadLine_LineOfExactlyLimitIsAccepted()
    {
        await using var pair = await TransportKit.OpenAsync(transport, WithLimit(16));
        await pair.Peer.SendAllAsync(new string('a', 16) + "\n");

        var line = await pair.Reader.ReadLineAsync().Within();

        Assert.That(Loopback.Text(line), Is.EqualTo(new string('a', 16) + "\n"), "the limit counts the line without its \\n");
    }

    [Test]
    public async Task ReadLine_OverLongLine_SeparatorArrived_DropsThroughNewlineAndRaises()
    {
        await using var pair = await TransportKit.OpenAsync(transport, WithLimit(16));
        // One send: the reader sees all of it in one receive, so the '\n' of the long line is in the buffer.
        await pair.Peer.SendAllAsync("short\n" + new string('x', 40) + "\nafter\n");

        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("short\n"));
        var overrun = Assert.ThrowsAsync<LimitOverrunException>(async () => await pair.Reader.ReadLineAsync().Within());
        Assert.That(overrun!.Consumed, Is.EqualTo(40), "'found, but chunk is longer than limit': consumed is where the \\n starts");

        // The discard rule: the buffer is dropped through the long line's '\n', so the next line is intact.
        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("after\n"));
    }

    [Test]
    public async Task ReadLine_OverLongLine_SeparatorNotYetArrived_ClearsBuffer_RestComesBackAsALine()
    {
        await using var pair = await TransportKit.OpenAsync(transport, WithLimit(16));
        await pair.Peer.SendAllAsync(new string('x', 40));

        var overrun = Assert.ThrowsAsync<LimitOverrunException>(async () => await pair.Reader.ReadLineAsync().Within());
        Assert.Multiple(() =>
        {
            Assert.That(overrun!.Consumed, Is.GreaterThan(16), "'not found, and chunk exceed the limit'");
            Assert.That(pair.Reader.BufferedLength, Is.Zero, "readline clears the whole buffer when the \\n has not arrived");
        });

        // asyncio [exp]: the part of the over-long line that arrives after the clear comes back as a "line".
        await pair.Peer.SendAllAsync("tail\nnext\n");
        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("tail\n"));
        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("next\n"));
    }

    [Test]
    public async Task ReadExactly_ReturnsExactlyN_WaitingAcrossSends()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var pending = pair.Reader.ReadExactlyAsync(10);
        await pair.Peer.SendAllAsync("abcd");
        Assert.That(pending.IsCompleted, Is.False, "only 4 of 10 bytes exist");

        await pair.Peer.SendAllAsync("efghijklm");
        var data = await pending.Within();

        Assert.That(Loopback.Text(data), Is.EqualTo("abcdefghij"));
        Assert.That(Loopback.Text(await pair.Reader.ReadExactlyAsync(3).Within()), Is.EqualTo("klm"));
    }

    [Test]
    public async Task ReadExactly_LargerThanLimit_IsAllowed()
    {
        await using var pair = await TransportKit.OpenAsync(transport, WithLimit(16));
        var payload = Loopback.Pattern(300_000);
        var sending = pair.Peer.SendAllAsync(payload);

        var data = await pair.Reader.ReadExactlyAsync(payload.Length).Within();
        await sending;

        Assert.That(data.Span.SequenceEqual(payload), Is.True, "the limit does not apply to readexactly");
    }

    [Test]
    public async Task ReadExactly_EofFirst_RaisesIncompleteReadWithPartialAndExpected()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("abcdef");
        await pair.Peer.ShutdownSendAsync();

        Assert.That(Loopback.Text(await pair.Reader.ReadExactlyAsync(4).Within()), Is.EqualTo("abcd"));
        var incomplete = Assert.ThrowsAsync<IncompleteReadException>(async () => await pair.Reader.ReadExactlyAsync(4).Within());

        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(incomplete!.Partial), Is.EqualTo("ef"));
            Assert.That(incomplete.Expected, Is.EqualTo(4));
            Assert.That(incomplete.Message, Is.EqualTo("2 bytes read on a total of 4 expected bytes"));
            Assert.That(pair.Reader.BufferedLength, Is.Zero, "the buffer is cleared");
            Assert.That(pair.Reader.AtEof, Is.True);
        });

        // readexactly(0) is b'' even at EOF; a negative n is rejected at the call.
        Assert.That((await pair.Reader.ReadExactlyAsync(0).Within()).IsEmpty, Is.True);
        Assert.Throws<ArgumentOutOfRangeException>(() => pair.Reader.ReadExactlyAsync(-1).AsTask());
    }

    [Test]
    public async Task ReadUntil_ReturnsThroughSeparator_IncompleteAtEof()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("key=value;;other;;rest");
        await pair.Peer.ShutdownSendAsync();
        var separator = Loopback.Bytes(";;");

        Assert.That(Loopback.Text(await pair.Reader.ReadUntilAsync(separator).Within()), Is.EqualTo("key=value;;"));
        Assert.That(Loopback.Text(await pair.Reader.ReadUntilAsync(separator).Within()), Is.EqualTo("other;;"));
        var incomplete = Assert.ThrowsAsync<IncompleteReadException>(async () => await pair.Reader.ReadUntilAsync(separator).Within());

        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(incomplete!.Partial), Is.EqualTo("rest"));
            Assert.That(incomplete.Expected, Is.Null);
            Assert.That(pair.Reader.AtEof, Is.True);
        });

        // At a clean EOF with nothing buffered, readuntil still raises (with an empty partial); readline returns b''.
        var empty = Assert.ThrowsAsync<IncompleteReadException>(async () => await pair.Reader.ReadUntilAsync(separator).Within());
        Assert.That(empty!.Partial.IsEmpty, Is.True);
        Assert.Throws(Is.InstanceOf<ArgumentException>(), () => pair.Reader.ReadUntilAsync(ReadOnlyMemory<byte>.Empty).AsTask());
    }

    [Test]
    public async Task ReadUntil_SeparatorFoundButTooFar_KeepsData_ReadConsumedSkipsIt()
    {
        await using var pair = await TransportKit.OpenAsync(transport, WithLimit(16));
        await pair.Peer.SendAllAsync(new string('a', 20) + "|tail|");
        var bar = Loopback.Bytes("|");

        var overrun = Assert.ThrowsAsync<LimitOverrunException>(async () => await pair.Reader.ReadUntilAsync(bar).Within());
        Assert.That(overrun!.Consumed, Is.EqualTo(20));
        Assert.That(pair.Reader.BufferedLength, Is.EqualTo(26), "a LimitOverrun leaves the buffer untouched");

        // Same data, same error: nothing was consumed.
        var again = Assert.ThrowsAsync<LimitOverrunException>(async () => await pair.Reader.ReadUntilAsync(bar).Within());
        Assert.That(again!.Consumed, Is.EqualTo(20));

        var skipped = await pair.Reader.ReadAsync((int)overrun.Consumed).Within();
        Assert.That(Loopback.Text(skipped), Is.EqualTo(new string('a', 20)));
        Assert.That(Loopback.Text(await pair.Reader.ReadUntilAsync(bar).Within()), Is.EqualTo("|"));
        Assert.That(Loopback.Text(await pair.Reader.ReadUntilAsync(bar).Within()), Is.EqualTo("tail|"));
    }

    [Test]
    public async Task ReadUntil_SeparatorNotFound_ConsumedIsBufLenMinusSepLenPlusOne_DataKept()
    {
        await using var pair = await TransportKit.OpenAsync(transport, WithLimit(16));
        await pair.Peer.SendAllAsync(new string('b', 30));
        var end = Loopback.Bytes("END");

        var overrun = Assert.ThrowsAsync<LimitOverrunException>(async () => await pair.Reader.ReadUntilAsync(end).Within());

        // asyncio: offset = buflen + 1 - max_seplen = 30 + 1 - 3.
        Assert.That(overrun!.Consumed, Is.EqualTo(28));
        Assert.That(pair.Reader.BufferedLength, Is.EqualTo(30));

        Assert.That((await pair.Reader.ReadAsync(28).Within()).Length, Is.EqualTo(28));
        await pair.Peer.SendAllAsync("END");
        Assert.That(Loopback.Text(await pair.Reader.ReadUntilAsync(end).Within()), Is.EqualTo("bbEND"));
    }

    [Test]
    public async Task ReadUntil_SeveralSeparators_EarliestEndWins()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("a\r\nb\nc;d\r\n;");
        await pair.Peer.ShutdownSendAsync();
        ReadOnlyMemory<byte>[] separators = [Loopback.Bytes("\r\n"), Loopback.Bytes("\n"), Loopback.Bytes(";")];

        var frames = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            try
            {
                frames.Add(Loopback.Text(await pair.Reader.ReadUntilAsync(separators).Within()));
            }
            catch (IncompleteReadException end)
            {
                Assert.That(end.Partial.IsEmpty, Is.True);
                break;
            }
        }

        Assert.That(frames, Is.EqualTo(new[] { "a\r\n", "b\n", "c;", "d\r\n", ";" }));
        Assert.Throws(Is.InstanceOf<ArgumentException>(), () => pair.Reader.ReadUntilAsync(Array.Empty<ReadOnlyMemory<byte>>()).AsTask());
    }

    [Test]
    public async Task AtEof_FalseUntilEofSeenAndBufferEmpty()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        Assert.That(pair.Reader.AtEof, Is.False);

        await pair.Peer.SendAllAsync("ab");
        await pair.Peer.ShutdownSendAsync();
        Assert.That(Loopback.Text(await pair.Reader.ReadAsync(1).Within()), Is.EqualTo("a"));
        Assert.That(pair.Reader.AtEof, Is.False, "a byte is still buffered");

        Assert.That(Loopback.Text(await pair.Reader.ReadAsync(1).Within()), Is.EqualTo("b"));
        Assert.That((await pair.Reader.ReadAsync(1).Within()).IsEmpty, Is.True);
        Assert.That(pair.Reader.AtEof, Is.True);
    }

    [Test]
    public async Task AwaitForeach_YieldsEveryLineIncludingUnterminatedLast()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("alpha\nbeta\n");
        await pair.Peer.SendAllAsync("gam");
        await pair.Peer.SendAllAsync("ma\ndelta");
        await pair.Peer.ShutdownSendAsync();

        var lines = new List<string>();
        await foreach (var line in pair.Reader)
        {
            lines.Add(Loopback.Text(line));
            Assert.That(lines, Has.Count.LessThan(10));
        }

        Assert.That(lines, Is.EqualTo(new[] { "alpha\n", "beta\n", "gamma\n", "delta" }));
    }

    [Test]
    public async Task ReadLinesAsync_IsTheSameSequence()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("1\n22\n333\n");
        await pair.Peer.ShutdownSendAsync();

        var lines = new List<string>();
        using var cts = new CancellationTokenSource(Loopback.Timeout);
        await foreach (var line in pair.Reader.ReadLinesAsync(cts.Token))
        {
            lines.Add(Loopback.Text(line));
        }

        Assert.That(lines, Is.EqualTo(new[] { "1\n", "22\n", "333\n" }));
    }

    [Test]
    public async Task SecondConcurrentConsumer_GetsInvalidOperation_FirstStillWorks()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var pending = pair.Reader.ReadLineAsync();
        Assert.That(pending.IsCompleted, Is.False);

        Assert.ThrowsAsync<InvalidOperationException>(async () => await pair.Reader.ReadAsync(10).Within());
        Assert.ThrowsAsync<InvalidOperationException>(async () => await pair.Reader.ReadExactlyAsync(3).Within());
        Assert.ThrowsAsync<InvalidOperationException>(async () => await pair.Reader.ReadUntilAsync(Loopback.Bytes(";")).Within());

        // A subscriber is a consumer too: it gets OnError(InvalidOperationException).
        var pushed = new RecordingObserver();
        using (pair.Reader.Subscribe(pushed))
        {
            Assert.That(await pushed.Done.Within(), Is.InstanceOf<InvalidOperationException>());
        }

        await pair.Peer.SendAllAsync("line\n");
        Assert.That(Loopback.Text(await pending.Within()), Is.EqualTo("line\n"));
    }

    [Test]
    public async Task PullWhileSubscribed_GetsInvalidOperation()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        var pushed = new RecordingObserver();
        using var subscription = pair.Reader.Subscribe(pushed);

        Assert.ThrowsAsync<InvalidOperationException>(async () => await pair.Reader.ReadLineAsync().Within());

        await pair.Peer.SendAllAsync("still mine");
        await pushed.FirstChunk.Within();
        Assert.That(Loopback.Text(pushed.Data), Is.EqualTo("still mine"));
    }

    [Test]
    public async Task CancellingPendingReadLine_ConsumesNothing()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        // One send: the first readline takes "abc\n" and leaves "par" buffered.
        await pair.Peer.SendAllAsync("abc\npar");
        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("abc\n"));

        using var cts = new CancellationTokenSource();
        var pending = pair.Reader.ReadLineAsync(cts.Token);
        Assert.That(pending.IsCompleted, Is.False, "no '\\n' follows \"par\" yet");
        await cts.CancelAsync();

        Assert.That(async () => await pending.Within(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(pair.Reader.BufferedLength, Is.EqualTo(3), "the buffered partial line is untouched");

        await pair.Peer.SendAllAsync("tial\n");
        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("partial\n"));
    }

    [Test]
    public async Task CancellingPendingReadExactly_ConsumesNothing_AndReaderIsReusable()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("abcdef");
        Assert.That(Loopback.Text(await pair.Reader.ReadExactlyAsync(2).Within()), Is.EqualTo("ab"));

        using var cts = new CancellationTokenSource();
        var pending = pair.Reader.ReadExactlyAsync(10, cts.Token);
        Assert.That(pending.IsCompleted, Is.False);
        await cts.CancelAsync();
        Assert.That(async () => await pending.Within(), Throws.InstanceOf<OperationCanceledException>());

        await pair.Peer.SendAllAsync("ghijkl");
        Assert.That(Loopback.Text(await pair.Reader.ReadExactlyAsync(10).Within()), Is.EqualTo("cdefghijkl"));
    }

    [Test]
    public async Task PeerReset_BufferedBytesFirst_ThenIncompleteReadWithInnerError_ThenIOException()
    {
        await using var pair = await TransportKit.OpenAsync(transport);
        await pair.Peer.SendAllAsync("complete\npart");
        await pair.ResetPeerAsync();

        // Documented difference from asyncio: bytes that arrived before the reset are still delivered.
        Assert.That(Loopback.Text(await pair.Reader.ReadLineAsync().Within()), Is.EqualTo("complete\n"));
        var incomplete = Assert.ThrowsAsync<IncompleteReadException>(async () => await pair.Reader.ReadLineAsync().Within());
        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(incomplete!.Partial), Is.EqualTo("part"));
            Assert.That(incomplete.InnerException, Is.InstanceOf<IOException>());
        });

        Assert.ThrowsAsync(Is.InstanceOf<IOException>(), async () => await pair.Reader.ReadAsync(10).Within());
        Assert.That(pair.Reader.Exception, Is.InstanceOf<IOException>());
    }
}
