using System.Globalization;
using NUnit.Framework;
using RxStreams.Cli;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Cli;

/// <summary><c>send MESSAGE</c> keeps the seed client's transcript byte for byte, whatever the message looks like.</summary>
public class CliSendMessageTests
{
    [TestCase("Hello World!", "'Hello World!'")]
    [TestCase("@hello", "'@hello'")]       // not a response file
    [TestCase("-x", "'-x'")]               // not an option
    [TestCase("it's", "\"it's\"")]         // Python's repr picks double quotes
    public async Task SendMessage_PrintsTheSeedTranscript(string message, string repr)
    {
        var server = await Streams.StartServerAsync(SeedExamples.HandleEcho(TextWriter.Null), "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);

        var run = await CliRun.InProcessAsync(["send", "--port", server.Port().ToString(CultureInfo.InvariantCulture), message]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Output, Is.EqualTo($"Send: {repr}\nReceived: {repr}\nClose the connection\n".ReplaceLineEndings(Environment.NewLine)), run.ToString());
        Assert.That(run.Error, Is.Empty, run.ToString());
    }
}
