using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Docs;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Samples;

/// <summary>
/// The hosted sample (Generic Host, appsettings.json, OpenTelemetry console exporter) run as a process: it serves an
/// echo on the port it logs, and prints the connection's trace and the library's metrics. Its Program.cs is the README's
/// hosting snippet, verbatim.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public partial class HostedSampleTests
{
    [Test]
    public async Task HostedSample_ServesAnEcho_AndPrintsATraceAndAMetric()
    {
        var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Samples.Hosted.dll");
        Assert.That(File.Exists(Path.Combine(TestContext.CurrentContext.TestDirectory, "appsettings.json")), Is.True, "the sample's configuration is copied beside it");

        // A free port instead of appsettings.json's 7000, and metrics exported every half second (both from the command line).
        await using var process = ChildProcess.Start(ChildProcess.DotnetHost(), [dll, "--RxStreams:Servers:echo:Port=0", "--OTEL_METRIC_EXPORT_INTERVAL=500"]);
        var listening = await process.WaitForLineAsync(static line => ListeningOn().IsMatch(line));
        int port = int.Parse(ListeningOn().Match(listening).Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture);

        await using (var client = await Streams.OpenConnectionAsync("127.0.0.1", port).Within())
        {
            client.Writer.WriteLine("hello, host");
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("hello, host\n"));
            client.Writer.WriteEof(); // the handler's loop ends, the server closes: the connection's span ends
            Assert.That((await client.Reader.ReadAsync(-1).Within()).Length, Is.Zero);
        }

        await process.WaitForLineAsync(static line => line.Contains("Activity.DisplayName:", StringComparison.Ordinal) && line.Contains("rxstreams.connection", StringComparison.Ordinal));
        await process.WaitForLineAsync(static line => line.Contains("rxstreams.connection.opened", StringComparison.Ordinal));
    }

    [Test]
    public void ReadmeHostingSnippet_IsTheSamplesProgram_Verbatim()
    {
        var program = RepositoryFiles.Read("src", "Samples", "RxStreams.Samples.Hosted", "Program.cs");
        var snippet = RepositoryFiles.ReadmeSnippetAfter("## Hosting (Generic Host)");

        Assert.That(snippet, Is.EqualTo(program), "the README's hosting snippet must be src/Samples/RxStreams.Samples.Hosted/Program.cs, which the build compiles");
    }


    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();
}
