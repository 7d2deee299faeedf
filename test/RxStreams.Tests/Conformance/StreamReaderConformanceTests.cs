using System.Text;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Conformance;

/// <summary>
/// CPython's <c>Lib/test/test_asyncio/test_streams.py</c> <c>StreamReader</c> tests, ported to
/// <c>new ConnectionReader(limit)</c> + <c>FeedData</c> / <c>FeedEof</c> / <c>SetException</c>. Each test names the CPython
/// test it ports. asyncio's private <c>stream._buffer</c> is <see cref="ConnectionReader.BufferedLength"/> (and what a read
/// returns next). Where RxStreams deliberately differs (README, "deliberately differs"), the test asserts RxStreams'
/// behaviour and says so.
/// </summary>
[TestFixture]
[CancelAfter(10_000)]
public class StreamReaderConformanceTests
{
    private static readonly byte[] Data = B("line1\nline2\nline3\n");

    private static byte[] B(string text) => Encoding.ASCII.GetBytes(text);

    private static string S(ReadOnlyMemory<byte> data) => Encoding.ASCII.GetString(data.Span);

    /// <summary>What is buffered, read without waiting (the reader must hold exactly this).</summary>
    private static async Task<string> BufferAsync(ConnectionReader reader)
    {
        int length = reader.BufferedLength;
        return length == 0 ? string.Empty : S(await reader.ReadExactlyAsync(length).Within());
    }

    [Test] // test_feed_empty_data
    public void FeedEmptyData()
    {
        var reader = new ConnectionReader();

        reader.FeedData([]);

        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_feed_nonempty_data
    public async Task FeedNonemptyData()
    {
        var reader = new ConnectionReader();

        reader.FeedData(Data);

        Assert.That(reader.BufferedLength, Is.EqualTo(Data.Length));
        Assert.That(await BufferAsync(reader), Is.EqualTo(S(Data)));
    }

    [Test] // test_read_zero
    public async Task ReadZero()
    {
        var reader = new ConnectionReader();
        reader.FeedData(Data);

        var data = await reader.ReadAsync(0).Within();

        Assert.That(data.IsEmpty, Is.True);
        Assert.That(reader.BufferedLength, Is.EqualTo(Data.Length));
    }

    [Test] // asyncio's read(): 'if self._exception is not None: raise self._exception' comes before 'if n == 0: return b""'
    public async Task ReadZero_RaisesTheStoredException()
    {
        var empty = new ConnectionReader();
        var buffered = new ConnectionReader();
        buffered.FeedData(Data);
        var error = new InvalidOperationException("stored");

        empty.SetException(error);
        buffered.SetException(error);

        Assert.That(async () => await empty.ReadAsync(0), Throws.Exception.SameAs(error));
        Assert.That(async () => await buffered.ReadAsync(0), Throws.Exception.SameAs(error));
        // Differs on purpose only in what follows: read(0) consumed nothing, so the buffered bytes are still delivered.
        Assert.That(buffered.BufferedLength, Is.EqualTo(Data.Length));
        Assert.That(S(await buffered.ReadAsync(Data.Length).Within()), Is.EqualTo(S(Data)));
    }

    [Test] // test_read
    public async Task Read()
    {
        var reader = new ConnectionReader();
        var read = reader.ReadAsync(30);

        reader.FeedData(Data);

        Assert.That(S(await read.Within()), Is.EqualTo(S(Data)));
        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_read_line_breaks
    public async Task ReadLineBreaks()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("line1"));
        reader.FeedData(B("line2"));

        var data = await reader.ReadAsync(5).Within();

        Assert.That(S(data), Is.EqualTo("line1"));
        Assert.That(await BufferAsync(reader), Is.EqualTo("line2"));
    }

    [Test] // test_read_eof
    public async Task ReadEof()
    {
        var reader = new ConnectionReader();
        var read = reader.ReadAsync(1024);

        reader.FeedEof();

        Assert.That((await read.Within()).IsEmpty, Is.True);
        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_read_until_eof
    public async Task ReadUntilEof()
    {
        var reader = new ConnectionReader();
        var read = reader.ReadAsync(-1);

        reader.FeedData(B("chunk1\n"));
        reader.FeedData(B("chunk2"));
        reader.FeedEof();

        Assert.That(S(await read.Within()), Is.EqualTo("chunk1\nchunk2"));
        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_read_exception (differs on purpose: bytes buffered before an error are delivered first)
    public async Task ReadException()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("line\n"));
        Assert.That(S(await reader.ReadAsync(2).Within()), Is.EqualTo("li"));

        var error = new InvalidOperationException("stored");
        reader.SetException(error);

        // asyncio raises at once and the buffered "ne\n" is lost; RxStreams returns it, then raises.
        Assert.That(S(await reader.ReadAsync(2).Within()), Is.EqualTo("ne"));
        Assert.That(S(await reader.ReadAsync(2).Within()), Is.EqualTo("\n"));
        Assert.That(async () => await reader.ReadAsync(2), Throws.Exception.SameAs(error));
    }

    [TestCase(0)] // test_invalid_limit
    [TestCase(-1)]
    public void InvalidLimit(int limit)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ConnectionReader(limit));
        Assert.That(error!.Message, Does.Contain("imit"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ConnectionOptions { Limit = limit });
    }

    [Test] // test_read_limit
    public async Task ReadLimit()
    {
        var reader = new ConnectionReader(limit: 3);
        reader.FeedData(B("chunk"));

        Assert.That(S(await reader.ReadAsync(5).Within()), Is.EqualTo("chunk"));
        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_readline
    public async Task ReadLine()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("chunk1 "));
        var line = reader.ReadLineAsync();

        reader.FeedData(B("chunk2 "));
        reader.FeedData(B("chunk3 "));
        reader.FeedData(B("\n chunk4"));

        Assert.That(S(await line.Within()), Is.EqualTo("chunk1 chunk2 chunk3 \n"));
        Assert.That(await BufferAsync(reader), Is.EqualTo(" chunk4"));
    }

    [Test] // test_readline_limit_with_existing_data
    public async Task ReadLine_LimitWithExistingData()
    {
        var reader = new ConnectionReader(limit: 3);
        reader.FeedData(B("li"));
        reader.FeedData(B("ne1\nline2\n"));

        Assert.That(async () => await reader.ReadLineAsync(), Throws.InstanceOf<LimitOverrunException>()); // asyncio: ValueError
        Assert.That(await BufferAsync(reader), Is.EqualTo("line2\n"), "the over-long line is dropped through its \\n");

        reader = new ConnectionReader(limit: 3);
        reader.FeedData(B("li"));
        reader.FeedData(B("ne1"));
        reader.FeedData(B("li"));

        Assert.That(async () => await reader.ReadLineAsync(), Throws.InstanceOf<LimitOverrunException>());
        Assert.That(reader.BufferedLength, Is.Zero, "no \\n: the whole buffer is dropped");
    }

    [Test] // test_at_eof
    public async Task AtEof()
    {
        var reader = new ConnectionReader();
        Assert.That(reader.AtEof, Is.False);

        reader.FeedData(B("some data\n"));
        Assert.That(reader.AtEof, Is.False);

        await reader.ReadLineAsync().Within();
        Assert.That(reader.AtEof, Is.False);

        reader.FeedData(B("some data\n"));
        reader.FeedEof();
        await reader.ReadLineAsync().Within();
        Assert.That(reader.AtEof, Is.True);
    }

    [Test] // test_readline_limit (the data is fed before the read here: asyncio feeds it in one loop callback)
    public async Task ReadLine_Limit()
    {
        var reader = new ConnectionReader(limit: 7);
        reader.FeedData(B("chunk1"));
        reader.FeedData(B("chunk2"));
        reader.FeedData(B("chunk3\n"));
        reader.FeedEof();
        Assert.That(async () => await reader.ReadLineAsync(), Throws.InstanceOf<LimitOverrunException>());
        Assert.That(reader.BufferedLength, Is.Zero);

        reader = new ConnectionReader(limit: 7);
        reader.FeedData(B("chunk1"));
        reader.FeedData(B("chunk2\n"));
        reader.FeedData(B("chunk3\n"));
        reader.FeedEof();
        Assert.That(async () => await reader.ReadLineAsync(), Throws.InstanceOf<LimitOverrunException>());
        Assert.That(await BufferAsync(reader), Is.EqualTo("chunk3\n"));

        // The limit is strict: a line of exactly 7 bytes (without its \n) is accepted, 8 is not.
        reader = new ConnectionReader(limit: 7);
        reader.FeedData(B("1234567\n"));
        Assert.That(S(await reader.ReadLineAsync().Within()), Is.EqualTo("1234567\n"));
        Assert.That(reader.BufferedLength, Is.Zero);

        reader.FeedData(B("12345678\n"));
        Assert.That(async () => await reader.ReadLineAsync(), Throws.InstanceOf<LimitOverrunException>());
        Assert.That(reader.BufferedLength, Is.Zero);

        reader.FeedData(B("12345678"));
        Assert.That(async () => await reader.ReadLineAsync(), Throws.InstanceOf<LimitOverrunException>());
        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_readline_nolimit_nowait
    public async Task ReadLine_NoLimitNoWait()
    {
        var reader = new ConnectionReader();
        reader.FeedData(Data.AsSpan(0, 6));
        reader.FeedData(Data.AsSpan(6));

        Assert.That(S(await reader.ReadLineAsync().Within()), Is.EqualTo("line1\n"));
        Assert.That(await BufferAsync(reader), Is.EqualTo("line2\nline3\n"));
    }

    [Test] // test_readline_eof
    public async Task ReadLine_Eof()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("some data"));
        reader.FeedEof();

        Assert.That(S(await reader.ReadLineAsync().Within()), Is.EqualTo("some data"));
    }

    [Test] // test_readline_empty_eof
    public async Task ReadLine_EmptyEof()
    {
        var reader = new ConnectionReader();
        reader.FeedEof();

        Assert.That((await reader.ReadLineAsync().Within()).IsEmpty, Is.True);
    }

    [Test] // test_readline_read_byte_count
    public async Task ReadLine_ReadByteCount()
    {
        var reader = new ConnectionReader();
        reader.FeedData(Data);

        await reader.ReadLineAsync().Within();
        var data = await reader.ReadAsync(7).Within();

        Assert.That(S(data), Is.EqualTo("line2\nl"));
        Assert.That(await BufferAsync(reader), Is.EqualTo("ine3\n"));
    }

    [Test] // test_readline_exception
    public async Task ReadLine_Exception()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("line\n"));
        Assert.That(S(await reader.ReadLineAsync().Within()), Is.EqualTo("line\n"));

        var error = new InvalidOperationException("stored");
        reader.SetException(error);

        Assert.That(async () => await reader.ReadLineAsync(), Throws.Exception.SameAs(error));
        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_readuntil_separator (and its 3.13 tuple cases)
    public void ReadUntil_Separator()
    {
        var reader = new ConnectionReader();

        Assert.Multiple(() =>
        {
            Assert.That(() => reader.ReadUntilAsync(ReadOnlyMemory<byte>.Empty), Throws.ArgumentException.With.Message.Contains("Separator should be at least one-byte string"));
            Assert.That(() => reader.ReadUntilAsync([ReadOnlyMemory<byte>.Empty]), Throws.ArgumentException.With.Message.Contains("Separator should be at least one-byte string"));
            Assert.That(() => reader.ReadUntilAsync([B("a"), ReadOnlyMemory<byte>.Empty]), Throws.ArgumentException.With.Message.Contains("Separator should be"));
            Assert.That(() => reader.ReadUntilAsync(Array.Empty<ReadOnlyMemory<byte>>()), Throws.ArgumentException.With.Message.Contains("Separator should contain at least one element"));
            Assert.That(() => reader.ReadUntilAsync((IEnumerable<ReadOnlyMemory<byte>>)null!), Throws.ArgumentNullException);
        });
    }

    [Test] // test_readuntil_separator: the separator checks come before the stored exception
    public void ReadUntil_SeparatorCheckedBeforeTheStoredException()
    {
        var reader = new ConnectionReader();
        reader.SetException(new InvalidOperationException("stored"));

        Assert.That(() => reader.ReadUntilAsync(ReadOnlyMemory<byte>.Empty), Throws.ArgumentException);
        Assert.That(() => reader.ReadExactlyAsync(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test] // test_readuntil_multi_chunks
    public async Task ReadUntil_MultiChunks()
    {
        var reader = new ConnectionReader();

        reader.FeedData(B("lineAAA"));
        Assert.That(S(await reader.ReadUntilAsync(B("AAA")).Within()), Is.EqualTo("lineAAA"));
        Assert.That(reader.BufferedLength, Is.Zero);

        reader.FeedData(B("lineAAA"));
        Assert.That(S(await reader.ReadUntilAsync(B("AAA")).Within()), Is.EqualTo("lineAAA"));
        Assert.That(reader.BufferedLength, Is.Zero);

        reader.FeedData(B("lineAAAxxx"));
        Assert.That(S(await reader.ReadUntilAsync(B("AAA")).Within()), Is.EqualTo("lineAAA"));
        Assert.That(await BufferAsync(reader), Is.EqualTo("xxx"));
    }

    [Test] // test_readuntil_multi_chunks_1
    public async Task ReadUntil_MultiChunks1()
    {
        var reader = new ConnectionReader();
        string[][] feeds =
        [
            ["QWEaa", "XYaa", "a"],
            ["QWEaa", "XYa", "aa"],
            ["aaa"],
            ["Xaaa"],
            ["XXX", "a", "a", "a"],
        ];
        string[] expected = ["QWEaaXYaaa", "QWEaaXYaaa", "aaa", "Xaaa", "XXXaaa"];

        for (int i = 0; i < feeds.Length; i++)
        {
            foreach (var chunk in feeds[i])
            {
                reader.FeedData(B(chunk));
            }

            Assert.That(S(await reader.ReadUntilAsync(B("aaa")).Within()), Is.EqualTo(expected[i]));
            Assert.That(reader.BufferedLength, Is.Zero);
        }
    }

    [Test] // test_readuntil_multi_chunks_1, with the chunks arriving while the read waits
    public async Task ReadUntil_MultiChunks1_WhileWaiting()
    {
        var reader = new ConnectionReader();
        var read = reader.ReadUntilAsync(B("aaa"));

        reader.FeedData(B("QWEaa"));
        reader.FeedData(B("XYa"));
        reader.FeedData(B("aa"));

        Assert.That(S(await read.Within()), Is.EqualTo("QWEaaXYaaa"));
    }

    [Test] // test_readuntil_eof
    public async Task ReadUntil_Eof()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("some dataAA"));
        reader.FeedEof();

        var error = Assert.ThrowsAsync<IncompleteReadException>(async () => await reader.ReadUntilAsync(B("AAA")));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("undefined expected bytes"));
            Assert.That(error.Message, Is.EqualTo("11 bytes read on a total of undefined expected bytes"));
            Assert.That(S(error.Partial), Is.EqualTo("some dataAA"));
            Assert.That(error.Expected, Is.Null);
            Assert.That(reader.BufferedLength, Is.Zero);
        });
        Assert.That(error, Is.InstanceOf<EndOfStreamException>(), "asyncio's IncompleteReadError is an EOFError");
        await Task.CompletedTask;
    }

    [Test] // test_readuntil_limit_found_sep
    public async Task ReadUntil_LimitFoundSep()
    {
        var reader = new ConnectionReader(limit: 3);
        reader.FeedData(B("some dataAA"));

        var notFound = Assert.ThrowsAsync<LimitOverrunException>(async () => await reader.ReadUntilAsync(B("AAA")));
        Assert.That(notFound!.Message, Does.Contain("not found"));
        Assert.That(reader.BufferedLength, Is.EqualTo("some dataAA".Length), "readuntil keeps the data");

        reader.FeedData(B("A"));
        var found = Assert.ThrowsAsync<LimitOverrunException>(async () => await reader.ReadUntilAsync(B("AAA")));
        Assert.That(found!.Message, Does.Contain("is found"));
        Assert.That(found.Consumed, Is.EqualTo(9));
        Assert.That(await BufferAsync(reader), Is.EqualTo("some dataAAA"));
    }

    [Test] // 3.13: readuntil with a tuple of separators: the earliest end wins, a tie goes to the shortest
    public async Task ReadUntil_MultipleSeparators()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("line 1\nline 2\r\nline 3\rend"));
        ReadOnlyMemory<byte>[] separators = [B("\r\n"), B("\n"), B("\r")];

        Assert.That(S(await reader.ReadUntilAsync(separators).Within()), Is.EqualTo("line 1\n"));
        Assert.That(S(await reader.ReadUntilAsync(separators).Within()), Is.EqualTo("line 2\r"), "\\r ends before \\r\\n does");
        Assert.That(S(await reader.ReadUntilAsync(separators).Within()), Is.EqualTo("\n"));
        Assert.That(S(await reader.ReadUntilAsync(separators).Within()), Is.EqualTo("line 3\r"));

        reader.FeedData(B("xaaa"));
        Assert.That(S(await reader.ReadUntilAsync([B("aaa"), B("aa")]).Within()), Is.EqualTo("endxaa"), "'aa' ends first");
        reader.FeedEof();
        var rest = Assert.ThrowsAsync<IncompleteReadException>(async () => await reader.ReadUntilAsync([B("zz"), B("yyy")]));
        Assert.That(S(rest!.Partial), Is.EqualTo("a"));
    }

    [Test] // test_readexactly_zero_or_less
    public async Task ReadExactly_ZeroOrLess()
    {
        var reader = new ConnectionReader();
        reader.FeedData(Data);

        Assert.That((await reader.ReadExactlyAsync(0).Within()).IsEmpty, Is.True);
        Assert.That(reader.BufferedLength, Is.EqualTo(Data.Length));

        var error = Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await reader.ReadExactlyAsync(-1));
        Assert.That(error!.Message, Does.Contain("less than zero"));
        Assert.That(reader.BufferedLength, Is.EqualTo(Data.Length));
    }

    [Test] // asyncio's readexactly(): n < 0, then the stored exception, then 'if n == 0: return b""'
    public async Task ReadExactlyZero_RaisesTheStoredException()
    {
        var reader = new ConnectionReader();
        reader.FeedData(Data);
        var error = new InvalidOperationException("stored");
        reader.SetException(error);

        Assert.That(async () => await reader.ReadExactlyAsync(0), Throws.Exception.SameAs(error));
        Assert.That(async () => await reader.ReadExactlyAsync(-1), Throws.InstanceOf<ArgumentOutOfRangeException>(), "the size check comes first");
        Assert.That(reader.BufferedLength, Is.EqualTo(Data.Length));
    }

    [Test] // test_readexactly
    public async Task ReadExactly()
    {
        var reader = new ConnectionReader();
        int n = 2 * Data.Length;
        var read = reader.ReadExactlyAsync(n);

        reader.FeedData(Data);
        reader.FeedData(Data);
        reader.FeedData(Data);

        Assert.That(S(await read.Within()), Is.EqualTo(S(Data) + S(Data)));
        Assert.That(await BufferAsync(reader), Is.EqualTo(S(Data)));
    }

    [Test] // test_readexactly_limit
    public async Task ReadExactly_Limit()
    {
        var reader = new ConnectionReader(limit: 3);
        reader.FeedData(B("chunk"));

        Assert.That(S(await reader.ReadExactlyAsync(5).Within()), Is.EqualTo("chunk"));
        Assert.That(reader.BufferedLength, Is.Zero);
    }

    [Test] // test_readexactly_eof
    public async Task ReadExactly_Eof()
    {
        var reader = new ConnectionReader();
        int n = 2 * Data.Length;
        var read = reader.ReadExactlyAsync(n);

        reader.FeedData(Data);
        reader.FeedEof();

        var error = Assert.ThrowsAsync<IncompleteReadException>(async () => await read);
        Assert.Multiple(() =>
        {
            Assert.That(S(error!.Partial), Is.EqualTo(S(Data)));
            Assert.That(error.Expected, Is.EqualTo(n));
            Assert.That(error.Message, Is.EqualTo("18 bytes read on a total of 36 expected bytes"));
            Assert.That(reader.BufferedLength, Is.Zero);
        });
        await Task.CompletedTask;
    }

    [Test] // test_readexactly_exception (differs on purpose: the 3 buffered bytes are delivered before the error)
    public async Task ReadExactly_Exception()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("line\n"));
        Assert.That(S(await reader.ReadExactlyAsync(2).Within()), Is.EqualTo("li"));

        var error = new InvalidOperationException("stored");
        reader.SetException(error);

        Assert.That(S(await reader.ReadExactlyAsync(2).Within()), Is.EqualTo("ne"));
        var cut = Assert.ThrowsAsync<IncompleteReadException>(async () => await reader.ReadExactlyAsync(2));
        Assert.That(S(cut!.Partial), Is.EqualTo("\n"));
        Assert.That(cut.InnerException, Is.SameAs(error));
        Assert.That(async () => await reader.ReadExactlyAsync(2), Throws.Exception.SameAs(error));
    }

    [Test] // test_exception
    public void Exception()
    {
        var reader = new ConnectionReader();
        Assert.That(reader.Exception, Is.Null);

        var error = new InvalidOperationException();
        reader.SetException(error);

        Assert.That(reader.Exception, Is.SameAs(error));
        reader.SetException(null);
        Assert.That(reader.Exception, Is.Null, "set_exception(None) clears it");
    }

    [Test] // test_exception_waiter
    public async Task Exception_Waiter()
    {
        var reader = new ConnectionReader();
        var line = reader.ReadLineAsync();

        var error = new InvalidOperationException();
        reader.SetException(error);

        Assert.That(async () => await line.AsTask().Within(), Throws.Exception.SameAs(error));
        await Task.CompletedTask;
    }

    [Test] // test_exception_cancel
    public async Task Exception_Cancel()
    {
        var reader = new ConnectionReader();
        using var cancel = new CancellationTokenSource();
        var line = reader.ReadLineAsync(cancel.Token);

        cancel.Cancel();
        Assert.That(async () => await line.AsTask().Within(), Throws.InstanceOf<OperationCanceledException>());

        var error = new InvalidOperationException("message");
        reader.SetException(error); // must not fault on the cancelled waiter
        Assert.That(async () => await reader.ReadLineAsync().AsTask().Within(), Throws.Exception.SameAs(error));
    }

    [Test] // test_read_all_from_pipe_reader: read(-1) is not bounded by a tiny limit
    public async Task ReadAll_WithLimitOne()
    {
        var reader = new ConnectionReader(limit: 1);
        reader.FeedData(B("data"));
        reader.FeedEof();

        Assert.That(S(await reader.ReadAsync(-1).Within()), Is.EqualTo("data"));
    }

    [Test] // test___repr__, test___repr__nondefault_limit, test___repr__eof, test___repr__data, test___repr__exception
    public void Repr()
    {
        var plain = new ConnectionReader();
        var limited = new ConnectionReader(limit: 123);
        var eof = new ConnectionReader();
        eof.FeedEof();
        var data = new ConnectionReader();
        data.FeedData(B("data"));
        var failed = new ConnectionReader();
        failed.SetException(new InvalidOperationException());

        Assert.Multiple(() =>
        {
            Assert.That(plain.ToString(), Is.EqualTo("<ConnectionReader>"));
            Assert.That(limited.ToString(), Is.EqualTo("<ConnectionReader limit=123>"));
            Assert.That(eof.ToString(), Is.EqualTo("<ConnectionReader eof>"));
            Assert.That(data.ToString(), Is.EqualTo("<ConnectionReader 4 bytes>"));
            Assert.That(failed.ToString(), Is.EqualTo("<ConnectionReader exception=InvalidOperationException>"));
        });
    }

    [Test] // asyncio: feed_data after feed_eof is an error (an assertion in CPython)
    public void FeedData_AfterFeedEof_Throws()
    {
        var reader = new ConnectionReader();
        reader.FeedEof();
        reader.FeedEof(); // twice is fine

        Assert.That(() => reader.FeedData(B("x")), Throws.InvalidOperationException);
    }

    [Test] // asyncio §1.5: any negative n reads to EOF
    public async Task Read_AnyNegative_ReadsToEof()
    {
        var reader = new ConnectionReader();
        reader.FeedData(B("ab"));
        reader.FeedData(B("cd"));
        reader.FeedEof();

        Assert.That(S(await reader.ReadAsync(-5).Within()), Is.EqualTo("abcd"));
        Assert.That((await reader.ReadAsync(-1).Within()).IsEmpty, Is.True);
    }

    [Test] // async for line in reader
    public async Task AsyncIteration_YieldsLines_LastMayLackNewline()
    {
        var reader = new ConnectionReader();
        reader.FeedData(Data);
        reader.FeedData(B("tail"));
        reader.FeedEof();
        var lines = new List<string>();

        await foreach (var line in reader)
        {
            lines.Add(S(line));
        }

        Assert.That(lines, Is.EqualTo(new[] { "line1\n", "line2\n", "line3\n", "tail" }));
    }
}
