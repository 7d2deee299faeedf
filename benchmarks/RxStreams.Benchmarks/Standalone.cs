using System.Diagnostics;
using System.Globalization;
using RxStreams.Benchmarks.Baselines;
using RxStreams.Benchmarks.Clients;

namespace RxStreams.Benchmarks;

/// <summary>
/// Server and load generator as separate processes, for profiling one side with <c>dotnet-counters</c> or
/// <c>dotnet-trace</c> without the other in the same trace:
/// <code>
/// --serve NAME [lines|bulk]                           run one EchoServerCatalog server until stdin closes or Ctrl+C
///                                                     (each stdin line prints allocated bytes and gen0 GC count)
/// --load PORT [connections] [outstanding] [seconds]   line echo load against 127.0.0.1:PORT (default 1 64 10)
/// --connect-load PORT [seconds]                      connect, echo one line, close, in rounds of 500 (default 5 s)
/// --shape NAME PORT [seconds]                         runs of a LoadShapes shape (c1, c50, pingpong, bulk-raw, bulk-lines,
///                                                     connect, connect8) for at least SECONDS (default 5), then one line:
///                                                     "result: operations=N unit=U seconds=S description=D"
/// --framing CLASS METHOD FRAMESIZE CHUNKSIZE [seconds] run one framing benchmark case in a loop (for perf record)
/// </code>
/// (The CLI's own server, <c>dotnet run -c Release --project src/RxStreams.Cli -- echo --port P --lines</c>, is the
/// RxStreamsPush server and takes the same load.)
/// </summary>
internal static class Standalone
{
    public static async Task<int> ServeAsync(string[] args, TextWriter output)
    {
        var name = args.ElementAtOrDefault(1) ?? EchoServerCatalog.RawPipelines;
        var mode = string.Equals(args.ElementAtOrDefault(2), "bulk", StringComparison.OrdinalIgnoreCase) ? EchoMode.Bulk : EchoMode.Lines;
        var entry = EchoServerCatalog.All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
        if (entry.StartAsync is null)
        {
            output.WriteLine($"Unknown server '{name}'; one of: {string.Join(", ", EchoServerCatalog.All.Select(s => s.Name))}");
            return 2;
        }

        await using var server = await entry.StartAsync(mode);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{entry.Name} ({mode}) serving on 127.0.0.1:{server.Port} (pid {Environment.ProcessId}); close stdin or Ctrl+C to stop"));
        output.Flush();

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        var stdinClosed = Task.Run(() =>
        {
            // Any line on stdin asks for the process's allocation and GC counts (benchmarks/scripts/cpu-per-line.sh diffs them).
            while (Console.In.ReadLine() is not null)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stats: allocated={GC.GetTotalAllocatedBytes(precise: true)} gen0={GC.CollectionCount(0)}"));
                output.Flush();
            }
        });
        await Task.WhenAny(stdinClosed, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(static _ => { }, TaskScheduler.Default));
        return 0;
    }

    public static int FramingLoop(string[] args, TextWriter output)
    {
        var type = typeof(FramingBenchmarkBase).Assembly.GetType("RxStreams.Benchmarks." + args[1], throwOnError: true)!;
        var benchmark = (FramingBenchmarkBase)Activator.CreateInstance(type)!;
        benchmark.FrameSize = int.Parse(args[3], CultureInfo.InvariantCulture);
        benchmark.ChunkSize = int.Parse(args[4], CultureInfo.InvariantCulture);
        var seconds = args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 10;
        type.GetMethod("Setup")!.Invoke(benchmark, null);
        var run = type.GetMethod(args[2])!.CreateDelegate<Func<long>>(benchmark);

        // Warm up first, so tiered compilation has settled before the clock starts.
        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed.TotalSeconds < Math.Min(1, seconds / 2))
        {
            run();
        }

        // CPU time beside wall time: on a machine shared with other work, this process's CPU per frame (every thread:
        // the writer and the read loop of the connection variants, the GC) is what load disturbs least.
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        long invocations = 0;
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            run();
            invocations++;
        }

        var frames = (double)invocations * FramingBenchmarkBase.Frames;
        var perFrame = watch.Elapsed.TotalNanoseconds / frames;
        process.Refresh();
        var cpuPerFrame = (process.TotalProcessorTime - cpuBefore).TotalNanoseconds / frames;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{args[1]}.{args[2]} FrameSize={args[3]} ChunkSize={args[4]}: {perFrame:F2} ns/frame, {cpuPerFrame:F2} CPU ns/frame"));
        return 0;
    }

    public static async Task<int> LoadAsync(string[] args, TextWriter output)
    {
        int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
        var port = Arg(1, 0);
        var connections = Arg(2, 1);
        var outstanding = Arg(3, 64);
        var seconds = Arg(4, 10);
        const int LinesPerRun = 200_000;

        var client = new LineEchoClient();
        var total = Stopwatch.StartNew();
        long lines = 0;
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var run = Stopwatch.StartNew();
            lines += await client.RunAsync(port, connections, outstanding, LinesPerRun, CancellationToken.None);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{LinesPerRun / run.Elapsed.TotalSeconds,12:N0} lines/s"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {lines:N0} lines in {total.Elapsed.TotalSeconds:F1} s: {lines / total.Elapsed.TotalSeconds:N0} lines/s"));
        return 0;
    }

    public static async Task<int> ShapeLoadAsync(string[] args, TextWriter output)
    {
        var shape = LoadShapes.All.FirstOrDefault(s => string.Equals(s.Name, args.ElementAtOrDefault(1), StringComparison.OrdinalIgnoreCase));
        if (shape is null || args.Length < 3)
        {
            output.WriteLine($"Usage: --shape NAME PORT [seconds]; NAME is one of: {string.Join(", ", LoadShapes.All.Select(s => s.Name))}");
            return 2;
        }

        var port = int.Parse(args[2], CultureInfo.InvariantCulture);
        var seconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        var total = Stopwatch.StartNew();
        long runs = 0;
        do
        {
            await shape.RunAsync(port, false /* content unchecked: counted only */, CancellationToken.None);
            runs++;
        }
        while (total.Elapsed.TotalSeconds < seconds);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"result: operations={runs * shape.OperationsPerRun:R} unit={shape.Unit.Replace(' ', '_')} seconds={total.Elapsed.TotalSeconds:F3} description={shape.Description}"));
        return 0;
    }

    public static async Task<int> ConnectLoadAsync(string[] args, TextWriter output)
    {
        var port = int.Parse(args[1], CultureInfo.InvariantCulture);
        var seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        const int ConnectionsPerRound = 500;
        var client = new ConnectRateClient();
        var total = Stopwatch.StartNew();
        long connections = 0;
        while (total.Elapsed.TotalSeconds < seconds)
        {
            connections += await client.RunAsync(port, ConnectionsPerRound, CancellationToken.None);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {connections:N0} connections in {total.Elapsed.TotalSeconds:F1} s: {connections / total.Elapsed.TotalSeconds:N0} connections/s"));
        return 0;
    }
}
