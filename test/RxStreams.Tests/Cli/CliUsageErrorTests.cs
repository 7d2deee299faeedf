using NUnit.Framework;
namespace RxStreams.Tests.Cli;

/// <summary>Usage mistakes: exit code 2, a message naming the mistake and the help on stderr, nothing on stdout, nothing run.</summary>
public class CliUsageErrorTests
{
    [TestCase(new string[0], "Required command was not provided")]
    [TestCase(new[] { "bogus" }, "Unrecognized command or argument 'bogus'")]
    [TestCase(new[] { "ech", "--port", "0" }, "Did you mean")]
    [TestCase(new[] { "echo", "--port", "0", "--bogus" }, "Unrecognized command or argument '--bogus'")]
    [TestCase(new[] { "echo", "--port", "70000" }, "invalid port '70000'")]
    [TestCase(new[] { "echo", "--port", "x" }, "invalid port 'x'")]
    [TestCase(new[] { "echo" }, "--port or --unix is required")]
    [TestCase(new[] { "echo", "--port", "0", "--unix", "echo.sock" }, "--port and --unix exclude each other")]
    [TestCase(new[] { "echo", "--port", "0", "--tls-key", "key.pem" }, "--tls-key needs --tls-cert")]
    [TestCase(new[] { "echo", "--port", "0", "--idle-timeout", "-1" }, "invalid number of seconds '-1' for --idle-timeout")]
    [TestCase(new[] { "echo", "--port", "0", "--tls" }, "Unrecognized command or argument '--tls'")]
    [TestCase(new[] { "send", "--port", "1" }, "expected one MESSAGE argument or --file FILE")]
    [TestCase(new[] { "send", "--port", "1", "--file", "f", "hello" }, "expected one MESSAGE argument or --file FILE")]
    [TestCase(new[] { "send", "--port", "1", "--insecure", "hello" }, "--insecure and --sni are only meaningful with --tls")]
    [TestCase(new[] { "send", "--port", "1", "--file", "f", "--progress", "--no-progress" }, "--progress and --no-progress exclude each other")]
    [TestCase(new[] { "echo", "--port", "0", "--backlog", "0" }, "invalid count '0' for --backlog")]
    [TestCase(new[] { "proxy", "--listen", "0", "--to", "h:1", "--backlog", "x" }, "invalid count 'x' for --backlog")]
    [TestCase(new[] { "send", "--port", "1", "--timeout", "-1", "hello" }, "invalid number of seconds '-1' for --timeout")]
    [TestCase(new[] { "proxy", "--listen", "0" }, "Option '--to' is required")]
    [TestCase(new[] { "proxy", "--listen", "0", "--to", "8080" }, "'8080' needs a host (HOST:PORT)")]
    public async Task UsageError_ExitsTwo_WithTheMessageOnStderr(string[] args, string message)
    {
        var run = await CliRun.InProcessAsync(args);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain(message).And.Contain("Usage:"), run.ToString());
        Assert.That(run.Output, Is.Empty, run.ToString());
        Assert.That(run.RawOutput, Is.Empty, run.ToString());
    }

    [Test]
    public async Task UnknownCommand_AsProcess_ExitsTwo_StdoutEmpty()
    {
        await using var cli = CliRun.Start("bogus", "--port", "1");

        int exitCode = await cli.WaitForExitAsync();

        Assert.That(exitCode, Is.EqualTo(2), cli.Transcript);
        Assert.That(cli.Stderr, Does.Contain("'bogus'"), cli.Transcript);
        Assert.That(cli.StdoutLines, Is.Empty, cli.Transcript);
    }
}
