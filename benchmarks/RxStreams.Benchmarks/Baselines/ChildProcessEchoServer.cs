using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// An <see cref="EchoServerCatalog"/> server running in its own process (<c>--serve NAME lines|bulk</c>), so it gets
/// its own thread pool and GC, as a real server does and as an outside harness runs it. In one process, client and
/// server continuations compete for the same pool threads and the server that spends fewer hops per chunk wins or loses
/// on scheduling rather than on its own cost.
/// </summary>
internal sealed partial class ChildProcessEchoServer : IEchoServer
{
    /// <summary>Set by <c>Program</c> in the host process and inherited by BenchmarkDotNet's children: the benchmark
    /// assembly as built, with its runtimeconfig (the copy BenchmarkDotNet runs from has none of its own).</summary>
    public const string AssemblyVariable = "RXSTREAMS_BENCH_ASSEMBLY";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;

    private ChildProcessEchoServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The server process's CPU time so far, user and system (what /proc/PID/stat's utime + stime count).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<IEchoServer> StartAsync(string name, EchoMode mode)
    {
        string assembly = Environment.GetEnvironmentVariable(AssemblyVariable) ?? typeof(ChildProcessEchoServer).Assembly.Location;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, // the server runs until its stdin closes
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { assembly, "--serve", name, mode == EchoMode.Bulk ? "bulk" : "lines" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start the {name} server process");
        try
        {
            using var timeout = new CancellationTokenSource(StartTimeout);
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                var match = ServingOn().Match(line);
                if (match.Success)
                {
                    return new ChildProcessEchoServer(process, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Not serving within the start timeout: fall through, so the process does not outlive the benchmark.
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        int exitCode = process.ExitCode;
        process.Dispose();
        throw new InvalidOperationException($"the {name} server process did not report serving within {StartTimeout.TotalSeconds:F0} s (exit code {exitCode})");
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"serving on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ServingOn();
}
