using System.Diagnostics;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;
using static RxStreams.Tests.Reliability.ReliabilityKit;

namespace RxStreams.Tests.Reliability;

/// <summary>
/// Connection churn against one server: many short connect/echo/close cycles from concurrent clients, after which no
/// descriptor, socket or managed memory is left behind (contract guarantee 9).
/// </summary>
/// <remarks>
/// The cycle count defaults to 100,000 (issue 7) and can be lowered for a quick local run with
/// <c>RXSTREAMS_CHURN_CYCLES=5000 dotnet test --filter FullyQualifiedName~Churn</c>.
/// </remarks>
[NonParallelizable] // counts the process's descriptors and measures its heap
public class ChurnTests
{
    private const int Workers = 8;
    private const int WarmUpCycles = 2_000;

    /// <summary>
    /// Managed heap growth allowed over the measured cycles, after a full GC. A connection's objects are about 2 KB
    /// (README: 1.74 KB live heap per idle connection), so leaking even one small object per cycle (24 bytes × 98,000
    /// cycles = 2.2 MiB) or one connection per 1,000 cycles would break it; pools and tiered JIT settle during warm-up.
    /// </summary>
    private const long HeapGrowthBound = 2 * 1024 * 1024;

    /// <summary>Fails rather than hang: 100,000 cycles take about a minute on the 2-core build machine.</summary>
    private static readonly TimeSpan TimeBound = TimeSpan.FromMinutes(4);

    [Test]
    public async Task Churn_ConnectEchoClose_FromConcurrentClients_LeavesNoDescriptorSocketOrMemoryBehind()
    {
        int cycles = EnvInt("RXSTREAMS_CHURN_CYCLES", 100_000);

        // The runtime opens its socket engine's descriptors (epoll, a wake-up pipe) on first use and keeps them: open
        // and close one connection first, so the baseline holds them and only what churn leaves behind is counted.
        await using (var prelude = await Streams.StartServerAsync("127.0.0.1", 0).Within())
        {
            using var echoOnce = prelude.Subscribe(c => c.Reader.Lines().Subscribe(c.Writer));
            await OneCycleAsync(prelude.Port(), 0);
        }

        var descriptorsBefore = DescriptorTargets();
        int fdsBefore = OpenFileDescriptors();
        int socketsBefore = OpenSockets();

        var server = await Streams.StartServerAsync("127.0.0.1", 0).Within();
        var errors = new List<Exception>();
        using var errorLog = server.Errors.Subscribe(e => { lock (errors) { errors.Add(e); } });
        using var echo = server.Subscribe(c => c.Reader.Lines().Subscribe(c.Writer)); // half-closes back at EOF, then releases
        int port = server.Port();
        var descriptorsWithServer = DescriptorTargets();
        int fdsWithServer = OpenFileDescriptors();

        var clock = Stopwatch.StartNew();
        await RunCyclesAsync(port, Math.Min(WarmUpCycles, cycles), clock);
        await WaitUntilAsync(() => server.ConnectionCount == 0, "the warm-up connections are released");
        long heapBefore = HeapAfterFullGc();

        int measured = Math.Max(0, cycles - WarmUpCycles);
        await RunCyclesAsync(port, measured, clock);
        var elapsed = clock.Elapsed;

        await WaitUntilAsync(() => server.ConnectionCount == 0, "every server-side connection is released");
        await WaitUntilAsync(() => OpenFileDescriptors() <= fdsWithServer, () => $"descriptors back to {fdsWithServer} (new: {NewDescriptors(descriptorsWithServer)})");
        long heapAfter = HeapAfterFullGc();

        await server.DisposeAsync().AsTask().Within();
        await WaitUntilAsync(() => OpenFileDescriptors() <= fdsBefore, () => $"descriptors back to {fdsBefore} after the server closed (new: {NewDescriptors(descriptorsBefore)})");
        await WaitUntilAsync(() => OpenSockets() <= socketsBefore, () => $"sockets back to {socketsBefore} (now {OpenSockets()})");

        TestContext.Out.WriteLine($"{cycles} cycles from {Workers} clients in {elapsed.TotalSeconds:F1} s ({cycles / elapsed.TotalSeconds:F0}/s); " +
            $"heap {heapBefore / 1024} KiB -> {heapAfter / 1024} KiB over {measured} cycles; fds {fdsBefore}/{fdsWithServer}, sockets {socketsBefore}");
        Assert.That(heapAfter - heapBefore, Is.LessThan(HeapGrowthBound), $"managed heap growth over {measured} cycles");
        lock (errors)
        {
            Assert.That(errors, Is.Empty, "the server reported no error");
        }
    }

    private static long HeapAfterFullGc()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task RunCyclesAsync(int port, int count, Stopwatch clock)
    {
        int next = 0;
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= count)
            {
                if (clock.Elapsed > TimeBound)
                {
                    throw new TimeoutException($"churn ran past {TimeBound} at cycle {i} of {count}");
                }

                await OneCycleAsync(port, i);
            }
        })).ToArray();
        await Task.WhenAll(workers);
    }

    private static async Task OneCycleAsync(int port, int i)
    {
        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
        var (reader, writer) = connection;
        var line = Loopback.Bytes($"cycle {i}\n");
        writer.Write(line);
        var echoed = await reader.ReadLineAsync().Within();
        if (!echoed.Span.SequenceEqual(line))
        {
            throw new InvalidDataException($"cycle {i}: sent '{Loopback.Text(line)}', got '{Loopback.Text(echoed)}'");
        }

        writer.WriteEof();
        if (!(await reader.ReadAsync().Within()).IsEmpty)
        {
            throw new InvalidDataException($"cycle {i}: bytes after the echo");
        }

        await writer.WaitClosedAsync().Within();
    }
}
