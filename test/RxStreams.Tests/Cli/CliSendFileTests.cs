using NUnit.Framework;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using RxStreams.Cli;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Cli;

/// <summary><c>send --file</c> and <c>connect</c> moving a few MiB over real loopback sockets, with and without progress.</summary>
public partial class CliSendFileTests
{
    private const int FileSize = 3 * 1024 * 1024;

    // One refresh: "1.5 MiB of 3.0 MiB (50%) at 20.1 MiB/s" (the rate is left out when no time has passed).
    [GeneratedRegex(@"^\d+(\.\d)? (B|KiB|MiB) of 3\.0 MiB \(\d{1,3}%\)( at \d+(\.\d)? (B|KiB|MiB|GiB)/s)?$")]
    private static partial Regex ProgressLine();

    private readonly List<string> _files = [];

    [TearDown]
    public void DeleteFiles() => _files.ForEach(System.IO.File.Delete);

    [Test]
    public async Task SendFile_FewMiB_ArrivesWhole_AtALibraryServer_ReplyOnStdout()
    {
        var content = Loopback.Pattern(FileSize, seed: 7);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartCollectorAsync(received);

        var run = await CliRun.InProcessAsync(["send", "--port", Port(server), "--file", TempFile(content)]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var bytes = await received.Task.Within();
        Assert.That(bytes, Has.Length.EqualTo(content.Length));
        Assert.That(bytes, Is.EqualTo(content), "every byte, in order");
        Assert.That(CliRun.Text(run.RawOutput), Is.EqualTo($"received {FileSize}\n"), "the reply, raw, on stdout");
        Assert.That(run.Error, Is.Empty, "stderr is not a terminal and no --progress: no display");
        Assert.That(run.Output, Is.Empty);
    }

    [Test]
    public async Task SendFile_ToCliEchoLines_ComesBackWhole()
    {
        var content = Lines(FileSize);
        await using var echo = CliRun.Start("echo", "--port", "0", "--lines");
        string serving = await echo.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal));
        string port = ServingPort().Match(serving).Groups[1].Value;

        var run = await CliRun.InProcessAsync(["send", "--port", port, "--file", TempFile(content)]);

        Assert.That(run.ExitCode, Is.Zero, run + echo.Transcript);
        Assert.That(run.RawOutput, Has.Length.EqualTo(content.Length), echo.Transcript);
        Assert.That(run.RawOutput, Is.EqualTo(content), "echo --lines sends every line back, then closes after our half-close");
    }

    [Test]
    public async Task SendFile_WithProgress_WritesProgressLinesToStderr_NoneToStdout()
    {
        var content = Loopback.Pattern(FileSize, seed: 8);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartCollectorAsync(received);

        var run = await CliRun.InProcessAsync(["send", "--port", Port(server), "--file", TempFile(content), "--progress"]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(await received.Task.Within(), Is.EqualTo(content));
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.Not.Empty, run.ToString());
        Assert.That(lines, Has.All.Matches(ProgressLine()), run.ToString());
        Assert.That(lines[^1], Does.StartWith("3.0 MiB of 3.0 MiB (100%)"), run.ToString());
        Assert.That(run.Error, Does.Not.Contain("\r"), "not a terminal: one line per refresh, no redrawing");
        Assert.That(CliRun.Text(run.RawOutput), Is.EqualTo($"received {FileSize}\n"), "stdout holds the reply only");
        Assert.That(run.Output, Is.Empty);
    }

    [Test]
    public async Task SendFile_AsProcess_ProgressOnlyWithTheFlag()
    {
        var content = Loopback.Pattern(FileSize, seed: 9);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartCollectorAsync(received);
        string path = TempFile(content);

        await using var quiet = CliRun.Start("send", "--port", Port(server), "--file", path);
        Assert.That(await quiet.WaitForExitAsync(), Is.Zero, quiet.Transcript);
        await using var loud = CliRun.Start("send", "--port", Port(server), "--file", path, "--progress");
        Assert.That(await loud.WaitForExitAsync(), Is.Zero, loud.Transcript);

        Assert.That(quiet.Stderr, Is.Empty, "stderr redirected (not a terminal), no --progress: clean");
        Assert.That(quiet.StdoutLines, Is.EqualTo(new[] { $"received {FileSize}" }), quiet.Transcript);
        var progress = loud.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(progress, Has.All.Matches(ProgressLine()).And.Not.Empty, loud.Transcript);
        Assert.That(progress[^1], Does.StartWith("3.0 MiB of 3.0 MiB (100%)"), loud.Transcript);
        Assert.That(loud.StdoutLines, Is.EqualTo(new[] { $"received {FileSize}" }), "no progress on stdout");
    }

    [Test]
    public async Task Connect_StdinOfKnownLength_ShowsPercentage_EchoesEveryByte()
    {
        var content = Loopback.Pattern(FileSize, seed: 10);
        await using var server = await StartEchoAsync();

        var run = await CliRun.InProcessAsync(["connect", "--port", Port(server), "--progress"], new SizedStream(new MemoryStream(content), content.Length));

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.RawOutput, Is.EqualTo(content), "stdin went out, the echo came back to stdout");
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.All.Matches(ProgressLine()).And.Not.Empty, run.ToString());
        Assert.That(lines[^1], Does.StartWith("3.0 MiB of 3.0 MiB (100%)"), run.ToString());
    }

    [Test]
    public async Task Connect_AsProcess_StdinRedirectedFromAFile_KnowsTheTotal()
    {
        var content = Loopback.Pattern(FileSize, seed: 13);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartCollectorAsync(received);
        string path = TempFile(content);
        string cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");

        // The shell opens the file as fd 0, as 'rxstreams connect ... < file' does for a user.
        await using var connect = Interop.ChildProcess.Start(
            Interop.ChildProcess.FindOnPath("bash")!,
            ["-c", "exec \"$0\" \"$1\" connect --port \"$2\" --progress < \"$3\"", Interop.ChildProcess.DotnetHost(), cli, Port(server), path]);

        Assert.That(await connect.WaitForExitAsync(), Is.Zero, connect.Transcript);
        Assert.That(await received.Task.Within(), Is.EqualTo(content));
        var progress = connect.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(progress, Has.All.Matches(ProgressLine()).And.Not.Empty, connect.Transcript);
        Assert.That(progress[^1], Does.StartWith("3.0 MiB of 3.0 MiB (100%)"), "the size of the file behind stdin is known");
        Assert.That(connect.StdoutLines, Is.EqualTo(new[] { $"received {FileSize}" }), connect.Transcript);
    }

    [Test]
    public async Task Connect_StdinOfUnknownLength_ShowsBytesSent_AndNoDisplayWithNoProgress()
    {
        var content = Loopback.Pattern(256 * 1024, seed: 11);
        await using var server = await StartEchoAsync();

        var shown = await CliRun.InProcessAsync(["connect", "--port", Port(server), "--progress"], new SizedStream(new MemoryStream(content), null));
        var hidden = await CliRun.InProcessAsync(["connect", "--port", Port(server), "--no-progress"], new SizedStream(new MemoryStream(content), null), errorIsTerminal: true);

        Assert.That(shown.ExitCode, Is.Zero, shown.ToString());
        Assert.That(shown.RawOutput, Is.EqualTo(content));
        Assert.That(shown.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], Does.Match(@"^256\.0 KiB sent( at .+/s)?$"), shown.ToString());
        Assert.That(hidden.ExitCode, Is.Zero, hidden.ToString());
        Assert.That(hidden.RawOutput, Is.EqualTo(content));
        Assert.That(hidden.Error, Is.Empty, "--no-progress wins over a terminal");
    }

    [Test]
    public async Task Connect_OnATerminal_RedrawsOneLineInPlace()
    {
        var content = Loopback.Pattern(FileSize, seed: 12);
        await using var server = await StartEchoAsync();

        var run = await CliRun.InProcessAsync(["connect", "--port", Port(server)], new SizedStream(new MemoryStream(content), content.Length), errorIsTerminal: true);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.RawOutput, Is.EqualTo(content));
        Assert.That(run.Error, Does.StartWith("\r").And.EndWith(Environment.NewLine), "on by default on a terminal, redrawn with \\r, ended once");
        Assert.That(run.Error.TrimEnd().Split('\r', StringSplitOptions.RemoveEmptyEntries).Select(static s => s.TrimEnd()), Has.All.Matches(ProgressLine()), run.ToString());
    }

    [GeneratedRegex(@"^Serving on \('127\.0\.0\.1', (\d+)\)$")]
    private static partial Regex ServingPort();

    private static string Port(Served served) => served.Server.Port().ToString(CultureInfo.InvariantCulture);

    /// <summary>Lines of printable text, a few hundred bytes each, the last one ended too (echo --lines echoes whole lines).</summary>
    private static byte[] Lines(int size)
    {
        var text = new StringBuilder(size + 512);
        for (int i = 0; text.Length < size; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"line {i}: ").Append('x', i % 300).Append('\n');
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>A library server that reads each connection to its EOF, reports the bytes, and answers 'received N'.</summary>
    private static async Task<Served> StartCollectorAsync(TaskCompletionSource<byte[]> received)
    {
        var server = await Streams.StartServerAsync(
            async (reader, writer) =>
            {
                var all = new MemoryStream();
                await foreach (var chunk in reader.ReadChunksAsync())
                {
                    all.Write(chunk.Span);
                }

                received.TrySetResult(all.ToArray());
                writer.Write(Encoding.ASCII.GetBytes($"received {all.Length}\n"));
                writer.Close();
                await writer.WaitClosedAsync();
            },
            "127.0.0.1",
            0);
        return new Served(server);
    }

    /// <summary>A library echo server: every chunk goes back, and the client's EOF closes the connection.</summary>
    private static async Task<Served> StartEchoAsync()
    {
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        var serving = server.Subscribe(static connection => connection.Reader.Subscribe(connection.Writer));
        return new Served(server, serving);
    }

    private string TempFile(byte[] content)
    {
        string path = CliRun.TempFile(content);
        _files.Add(path);
        return path;
    }

    private sealed class Served(StreamServer server, IDisposable? serving = null) : IAsyncDisposable
    {
        public StreamServer Server => server;

        public async ValueTask DisposeAsync()
        {
            serving?.Dispose();
            await Loopback.Guard(server).DisposeAsync();
        }
    }
}
