using NUnit.Framework;
namespace RxStreams.Tests.Cli;

/// <summary>Runtime failures: exit code 1 and one clear line on stderr, no usage text, nothing on stdout.</summary>
public class CliRuntimeFailureTests
{
    [TestCase("send", "hello")]
    [TestCase("connect")]
    public async Task ConnectionRefused_ExitsOne_WithOneLine(string command, params string[] rest)
    {
        string port = CliRun.ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var run = await CliRun.InProcessAsync([command, "--port", port, .. rest]);

        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.Error, Is.EqualTo($"rxstreams: Connection refused{Environment.NewLine}"), run.ToString());
        Assert.That(run.Output, Is.Empty, run.ToString());
    }

    [Test]
    public async Task ConnectionRefused_AsProcess_ExitsOne()
    {
        await using var cli = CliRun.Start("send", "--port", CliRun.ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture), "hello");

        int exitCode = await cli.WaitForExitAsync();

        Assert.That(exitCode, Is.EqualTo(1), cli.Transcript);
        Assert.That(cli.Stderr.Trim(), Is.EqualTo("rxstreams: Connection refused"), cli.Transcript);
        Assert.That(cli.StdoutLines, Is.Empty, cli.Transcript);
    }

    [Test]
    public async Task SendMissingFile_ExitsOne_BeforeConnecting()
    {
        string missing = Path.Combine(Path.GetTempPath(), "rxstreams-cli-missing-" + Guid.NewGuid().ToString("N"));

        var run = await CliRun.InProcessAsync(["send", "--port", CliRun.ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture), "--file", missing]);

        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.Error, Does.StartWith("rxstreams: ").And.Contain(missing).And.Not.Contain("Connection refused"), run.ToString());
    }

    [Test]
    public async Task EchoWithABadCertificate_ExitsOne_WithOneLine()
    {
        string certificate = CliRun.TempFile("not a certificate"u8.ToArray());
        try
        {
            var run = await CliRun.InProcessAsync(["echo", "--port", "0", "--tls-cert", certificate]);

            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.StartWith("rxstreams: "), run.ToString());
            Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), run.ToString());
            Assert.That(run.Output, Does.Not.Contain("Serving on"), run.ToString());
        }
        finally
        {
            File.Delete(certificate);
        }
    }
}
