using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RxStreams.Cli;
using RxStreams.Cli.Options;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Cli;

/// <summary>
/// The CLI never waits forever: <c>send --timeout</c> against peers that never answer, and the
/// servers' <c>--backlog</c>.
/// </summary>
[CancelAfter(60_000)]
public partial class CliTimeoutTests
{
    private readonly List<string> _files = [];

    [GeneratedRegex(@"^Serving on \('127\.0\.0\.1', (\d+)\)$")]
    private static partial Regex ServingOn();

    [TearDown]
    public void DeleteFiles() => _files.ForEach(File.Delete);

    [Test]
    public async Task SendMessage_ToALineEchoGivenNoNewline_ExitsOne_WithOneLine()
    {
        // echo --lines's own code: it waits for the end of a line that never comes, and the seed client waits for it.
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var serving = SeedExamples.ServeLineEcho(server);
        string port = server.Port().ToString(CultureInfo.InvariantCulture);

        var run = await CliRun.InProcessAsync(["send", "--port", port, "--timeout", "0.2", "no newline"]);

        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.Error, Is.EqualTo($"rxstreams: no reply from 127.0.0.1:{port} within 0.2 s (--timeout)" + Environment.NewLine), run.ToString());
        Assert.That(run.Output, Is.EqualTo("Send: 'no newline'" + Environment.NewLine), "the transcript up to the wait");
    }

    [Test]
    public async Task SendFile_ToAPeerThatTakesItAllAndNeverAnswers_ExitsOne_AfterTheIdleTimeout()
    {
        var peerDone = new TaskCompletionSource();
        var server = await Streams.StartServerAsync("127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        using var serving = server.Serve(async (reader, writer) =>
        {
            await reader.ReadAsync(-1); // the whole file and the half-close; then silence, the connection kept open
            await peerDone.Task;
        });
        string port = server.Port().ToString(CultureInfo.InvariantCulture);
        string file = CliRun.TempFile(Loopback.Pattern(64 * 1024, seed: 3));
        _files.Add(file);

        try
        {
            var run = await CliRun.InProcessAsync(["send", "--port", port, "--file", file, "--timeout", "0.3"]);

            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Is.EqualTo($"rxstreams: nothing sent to or received from 127.0.0.1:{port} for 0.3 s (--timeout)" + Environment.NewLine), run.ToString());
            Assert.That(run.RawOutput, Is.Empty);
        }
        finally
        {
            peerDone.SetResult();
        }
    }

    [Test]
    public void Timeout_DefaultsToThirtySeconds_ZeroTurnsItOff()
    {
        var command = new Command("send");
        var timeout = new ReplyTimeoutOptions();
        timeout.AddTo(command);

        Assert.Multiple(() =>
        {
            Assert.That(timeout.Read(command.Parse([])), Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(timeout.Read(command.Parse(["--timeout", "0"])), Is.Null);
            Assert.That(timeout.Read(command.Parse(["--timeout", "1.5"])), Is.EqualTo(TimeSpan.FromSeconds(1.5)));
        });
    }

    [Test]
    public void Backlog_ReachesTheServerOptions_AsyncioDefaultOtherwise()
    {
        var command = new Command("echo");
        var flags = new ServerFlagOptions();
        flags.AddTo(command);

        Assert.That(flags.Read(command.Parse(["--backlog", "7"])).Backlog, Is.EqualTo(7));
        Assert.That(flags.Read(command.Parse([])).Backlog, Is.EqualTo(100));
    }

    [Test]
    public async Task EchoBacklog_IsTheListeningSocketsQueueLength_AsTheKernelReportsIt()
    {
        var ss = ChildProcess.FindOnPath("ss");
        Assume.That(ss, Is.Not.Null, "ss (iproute2) is not installed: it reads a listening socket's backlog from the kernel");
        await using var echo = CliRun.Start("echo", "--port", "0", "--backlog", "7");
        string serving = await echo.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal));
        string port = ServingOn().Match(serving).Groups[1].Value;

        // For a listening socket, ss's Send-Q column is the backlog passed to listen().
        await using var query = ChildProcess.Start(ss!, ["-ltnH", $"sport = :{port}"]);
        Assert.That(await query.WaitForExitAsync(), Is.Zero, query.Transcript);
        var columns = query.StdoutLines.Single().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(columns[2], Is.EqualTo("7"), query.Transcript);
    }
}
