using NUnit.Framework;
using System.Reactive.Concurrency;
using System.Text;
using RxStreams.Cli;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Cli;

/// <summary>What one <c>rxstreams</c> run left behind: its exit code, its text on stdout and stderr, its raw stdout bytes.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error, byte[] RawOutput)
{
    public override string ToString() => $"exit={ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}\nraw stdout: {RawOutput.Length} bytes";
}

/// <summary>Runs the CLI in this process (its real parser and commands, over real sockets) or as a child process.</summary>
internal static class CliRun
{
    /// <summary>
    /// <c>rxstreams ARGS</c> in-process on a console of the test's: stdin from <paramref name="input"/> (empty by
    /// default), stderr not a terminal unless <paramref name="errorIsTerminal"/>, the progress clock on
    /// <paramref name="scheduler"/>.
    /// </summary>
    public static async Task<CliResult> InProcessAsync(string[] args, SizedStream? input = null, bool errorIsTerminal = false, IScheduler? scheduler = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var raw = new MemoryStream();
        var console = new CliConsole
        {
            Output = TextWriter.Synchronized(output),
            Error = TextWriter.Synchronized(error),
            OpenInput = () => input ?? new SizedStream(new MemoryStream(), 0),
            OpenRawOutput = () => raw,
            ErrorIsTerminal = errorIsTerminal,
            Scheduler = scheduler ?? DefaultScheduler.Instance,
        };
        int exitCode = await CommandLine.RunAsync(args, console).WaitAsync(TimeSpan.FromSeconds(30));
        return new CliResult(exitCode, output.ToString(), error.ToString(), raw.ToArray());
    }

    /// <summary><c>dotnet RxStreams.Cli.dll ARGS</c> as a child process (stdout and stderr redirected, so not terminals).</summary>
    public static ChildProcess Start(params string[] args)
    {
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");
        Assert.That(File.Exists(cli), Is.True, $"{cli} is missing");
        return ChildProcess.Start(ChildProcess.DotnetHost(), [cli, .. args]);
    }

    /// <summary>A loopback port nothing listens on: bound, then released.</summary>
    public static int ClosedPort()
    {
        using var listener = Loopback.Listen();
        return ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>A temp file holding <paramref name="content"/>; deleted by the caller.</summary>
    public static string TempFile(byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), "rxstreams-cli-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, content);
        return path;
    }

    public static string Text(byte[] data) => Encoding.UTF8.GetString(data);
}
