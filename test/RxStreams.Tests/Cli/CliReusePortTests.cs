using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Cli;

/// <summary>asyncio's <c>start_server(reuse_port=True)</c> across processes: two <c>rxstreams echo --reuse-port</c> on one port.</summary>
[NonParallelizable]
public sealed class CliReusePortTests
{
    private const int Clients = 40; // with SO_REUSEPORT's hash, all 40 on one process has odds of 2^-39

    [Test]
    public async Task EchoReusePort_TwoProcessesOnOnePort_BothReceiveConnections()
    {
        int port = FreePort();
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");
        string[] arguments = [cli, "echo", "--port", port.ToString(CultureInfo.InvariantCulture), "--reuse-port"];
        await using var first = ChildProcess.Start(ChildProcess.DotnetHost(), arguments);
        await first.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal));
        await using var second = ChildProcess.Start(ChildProcess.DotnetHost(), arguments);
        await second.WaitForLineAsync(static line => line.StartsWith("Serving on", StringComparison.Ordinal));

        for (int i = 0; i < Clients; i++)
        {
            await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
            var message = Loopback.Bytes($"hello {i}");
            connection.Writer.Write(message);
            Assert.That(Loopback.Text(await connection.Reader.ReadAsync(100).Within()), Is.EqualTo($"hello {i}"));
        }

        // Each process prints the seed's "Received ..." line for every connection it served.
        await first.WaitForLineAsync(static line => line.StartsWith("Received", StringComparison.Ordinal));
        await second.WaitForLineAsync(static line => line.StartsWith("Received", StringComparison.Ordinal));
        // The lines are read from the pipes asynchronously: wait (bounded) until all have been read.
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        int Served() => first.StdoutLines.Count(IsReceived) + second.StdoutLines.Count(IsReceived);
        while (Served() < Clients && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(Served(), Is.EqualTo(Clients), $"every connection served once\n{first.Transcript}\n{second.Transcript}");
    }

    private static bool IsReceived(string line) => line.StartsWith("Received", StringComparison.Ordinal);

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
