using NUnit.Framework;
namespace RxStreams.Tests.Cli;

/// <summary><c>--help</c> on the root and on every command: on stdout, exit code 0, naming what it should.</summary>
public class CliHelpTests
{
    private static readonly string[] Commands = ["demo", "echo", "send", "connect", "proxy"];

    [Test]
    public async Task RootHelp_NamesEveryCommandAndTheExitCodes()
    {
        var run = await CliRun.InProcessAsync(["--help"]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Error, Is.Empty, run.ToString());
        foreach (string command in Commands)
        {
            Assert.That(run.Output, Does.Match($@"(?m)^\s+{command}\b"), $"the root help lists '{command}'\n{run}");
        }

        Assert.That(run.Output, Does.Contain("Usage:").And.Contain("rxstreams [command] [options]").And.Contain("2 usage error"));
    }

    [TestCase("demo")]
    [TestCase("echo", "--port", "--host", "--unix", "--lines", "--tls-cert", "--tls-key", "--proxy-protocol", "--idle-timeout", "--frame-timeout", "--max-connections", "--reuse-port")]
    [TestCase("send", "--port", "--host", "--unix", "--tls", "--insecure", "--sni", "--file", "--progress", "--no-progress", "MESSAGE")]
    [TestCase("connect", "--port", "--host", "--unix", "--tls", "--insecure", "--sni", "--progress", "--no-progress")]
    [TestCase("proxy", "--listen", "--to", "--idle-timeout", "--frame-timeout", "--max-connections")]
    public async Task CommandHelp_NamesEveryFlag(string command, params string[] flags)
    {
        var run = await CliRun.InProcessAsync([command, "--help"]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Output, Does.Contain($"rxstreams {command}"), run.ToString());
        foreach (string flag in flags)
        {
            Assert.That(run.Output, Does.Contain(flag), run.ToString());
        }
    }

    [Test]
    public async Task HelpWord_PrintsTheCommandsHelp_AsBefore()
    {
        var run = await CliRun.InProcessAsync(["help", "send"]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Output, Does.Contain("rxstreams send").And.Contain("--file"), run.ToString());
    }
}
