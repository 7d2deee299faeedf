using System.Globalization;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Samples;

/// <summary>The RESP sample, run as a process and driven by Redis's own clients: <c>redis-cli</c> and <c>redis-benchmark</c>.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class RespSampleTests
{
    [Test]
    public async Task RedisCli_PingEchoSetGetDel()
    {
        var cli = SampleProcess.Tool("redis-cli", "redis-tools");
        var (server, port) = await SampleProcess.StartAsync("RxStreams.Samples.Resp");
        await using (server)
        {
            async Task<string[]> Run(params string[] command)
            {
                await using var client = ChildProcess.Start(cli, ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. command]);
                Assert.That(await client.WaitForExitAsync(), Is.Zero, client.Transcript);
                return client.StdoutLines;
            }

            Assert.That(await Run("PING"), Is.EqualTo(new[] { "PONG" }));
            Assert.That(await Run("ECHO", "hello world"), Is.EqualTo(new[] { "hello world" }));
            Assert.That(await Run("SET", "greeting", "héllo\r\nbinary"), Is.EqualTo(new[] { "OK" }));
            Assert.That(await Run("GET", "greeting"), Is.EqualTo(new[] { "héllo", "binary" }), "values are binary-safe: CRLF inside survives");
            Assert.That(await Run("DEL", "greeting", "missing"), Is.EqualTo(new[] { "1" }));
            Assert.That(await Run("GET", "greeting"), Is.EqualTo(new[] { string.Empty }), "nil");
            Assert.That((await Run("NOSUCH", "x"))[0], Is.EqualTo("ERR unknown command 'NOSUCH'"));
        }
    }

    [Test]
    public async Task RedisBenchmark_PingSetGet_CompletesEveryRequest()
    {
        var benchmark = SampleProcess.Tool("redis-benchmark", "redis-tools");
        var (server, port) = await SampleProcess.StartAsync("RxStreams.Samples.Resp");
        await using (server)
        {
            // Bounded: 20,000 requests per test, 50 clients (the default); only success is asserted, not speed.
            await using var run = ChildProcess.Start(benchmark, ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "ping,set,get", "-n", "20000", "-q"]);
            int exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(100));
            var output = string.Join("\n", run.StdoutLines);
            Assert.That(exit, Is.Zero, run.Transcript);
            foreach (var test in new[] { "PING_INLINE", "PING_MBULK", "SET", "GET" })
            {
                Assert.That(output, Does.Match($@"\b{test}: [0-9.]+ requests per second"), run.Transcript);
            }

            Assert.That(run.Stderr, Does.Not.Contain("Error").And.Not.Contain("WARNING"), run.Transcript);
        }
    }

    [Test]
    public async Task HugeBulkLength_IsRefusedOnItsHeader_ThenTheConnectionCloses_AndTheServerGoesOn()
    {
        var (server, port) = await SampleProcess.StartAsync("RxStreams.Samples.Resp");
        await using (server)
        {
            await using (var hostile = await Streams.OpenConnectionAsync("127.0.0.1", port).Within())
            {
                // A 2 GB value announced, none of it sent: the reply comes at once, so nothing was waited for or buffered.
                hostile.Writer.WriteText("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000000\r\n");
                var reply = await hostile.Reader.ReadAsync(-1).Within(); // to EOF: the server closes after the error
                Assert.That(Loopback.Text(reply), Is.EqualTo("-ERR Protocol error: invalid bulk length (2000000000)\r\n"));
            }

            // Inline commands (what nc users type) and pipelining on a fresh connection: the server is unaffected.
            await using var client = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
            client.Writer.WriteText("PING\r\nSET a 1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nQUIT\r\n");
            var replies = await client.Reader.ReadAsync(-1).Within();
            Assert.That(Loopback.Text(replies), Is.EqualTo("+PONG\r\n+OK\r\n$1\r\n1\r\n+OK\r\n"));
        }
    }
}
