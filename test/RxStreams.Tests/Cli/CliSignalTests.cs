using System.Diagnostics;
using NUnit.Framework;
using RxStreams.Tests.Interop;

namespace RxStreams.Tests.Cli;

/// <summary>
/// SIGTERM stops a server gracefully: exit code 0, the Unix socket file removed. Ctrl+C (SIGINT) cancels the same token,
/// but is not tested here: a process started in the background of a non-interactive shell (as CI may be) inherits
/// SIGINT ignored, so such a test would pass or fail with its environment.
/// </summary>
public class CliSignalTests
{
    [Test]
    public async Task Sigterm_StopsEchoServer_ExitZero_RemovesTheSocketFile()
    {
        var directory = Directory.CreateTempSubdirectory("rxstreams-cli-signal-");
        try
        {
            string path = Path.Combine(directory.FullName, "echo.sock");
            await using var echo = CliRun.Start("echo", "--unix", path, "--lines");
            await echo.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal));
            Assert.That(File.Exists(path), Is.True, echo.Transcript);

            using (var kill = Process.Start(ChildProcess.FindOnPath("kill")!, ["-TERM", echo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }

            int exitCode = await echo.WaitForExitAsync();

            Assert.That(exitCode, Is.Zero, echo.Transcript);
            Assert.That(File.Exists(path), Is.False, "the server removed its socket file on the way out");
            Assert.That(echo.Stderr, Is.Empty, echo.Transcript);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
