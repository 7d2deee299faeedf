using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Interop;

/// <summary>
/// The seed page's Python programs (stdlib asyncio, run with python3) talking to RxStreams over loopback, and the
/// rxstreams CLI against Python and netcat. Every child process is killed in teardown; every wait is bounded.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(60_000)]
public partial class SeedInteropTests
{
    /// <summary>
    /// The seed's TCP echo client as printed at the top of the page (with <c>await writer.wait_closed()</c>). The seed
    /// programs are copied verbatim into <c>Interop/Data</c> (see its README), so the tests run from any clone.
    /// </summary>
    private static readonly string SeedClientTop = SeedFile("tcp_echo_client.py");

    /// <summary>The seed's TCP echo client as printed in its examples section (no <c>wait_closed</c>).</summary>
    private static readonly string SeedClientExamples = SeedFile("tcp_echo_client_examples.py");

    /// <summary>The seed's TCP echo server, as printed.</summary>
    private static readonly string SeedServer = SeedFile("tcp_echo_server.py");

    /// <summary>The seed page itself, in a <c>shared</c> directory beside the clone (where the project's CI provides it).</summary>
    private static readonly string SeedPageInShared = Path.Combine("shared", "seeds", "asyncio-streams.txt");

    private static readonly string[] SeedClientOutput = ["Send: 'Hello World!'", "Received: 'Hello World!'", "Close the connection"];

    private readonly List<ChildProcess> _processes = [];
    private DirectoryInfo? _workDirectory;

    [GeneratedRegex(@"^Serving on \('127\.0\.0\.1', (\d+)\)$")]
    private static partial Regex ServingOnLine();

    [GeneratedRegex(@"^Received 'Hello World!' from \('127\.0\.0\.1', (\d+)\)$")]
    private static partial Regex ServerReceivedLine();

    [SetUp]
    public void CreateWorkDirectory() => _workDirectory = Directory.CreateTempSubdirectory("rxstreams-interop-");

    [TearDown]
    public async Task KillProcessesAndCleanUp()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        _processes.Clear();
        _workDirectory?.Delete(recursive: true);
    }

    [Test]
    public void SeedPrograms_AreVerbatimFromTheSeedPage()
    {
        var page = FindBesideTheRepository(SeedPageInShared);
        if (page is null)
        {
            Assert.Ignore($"The seed page (../{SeedPageInShared} from the clone) is only beside the project's own checkouts; the tests run the copies in Interop/Data.");
        }

        var text = File.ReadAllText(page).ReplaceLineEndings("\n");
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain(SeedClientTop.ReplaceLineEndings("\n")));
            Assert.That(text, Does.Contain(SeedClientExamples.ReplaceLineEndings("\n")));
            Assert.That(text, Does.Contain(SeedServer.ReplaceLineEndings("\n")));
        });
    }

    [TestCase(nameof(SeedClientTop))]
    [TestCase(nameof(SeedClientExamples))]
    public async Task PythonSeedClient_AgainstRxStreamsHandleEcho(string which)
    {
        RequirePython();
        var text = new StringWriter();
        var log = TextWriter.Synchronized(text);
        var server = await Streams.StartServerAsync(SeedPrograms.HandleEcho(log), "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);

        var program = which == nameof(SeedClientTop) ? SeedClientTop : SeedClientExamples;
        var client = StartPython("client.py", program.Replace("8888", server.Port().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));

        int exitCode = await client.WaitForExitAsync();

        Assert.That(exitCode, Is.Zero, client.Transcript);
        Assert.That(client.StdoutLines, Is.EqualTo(SeedClientOutput), client.Transcript);
        Assert.That(client.Stderr, Is.Empty, client.Transcript);

        // The server side printed what the Python server would have printed.
        await server.ShutdownAsync(TimeSpan.FromSeconds(1)).Within();
        var serverLines = SeedPrograms.Lines(text.ToString());
        Assert.That(serverLines, Has.Length.EqualTo(3), text.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(serverLines[0], Does.Match(ServerReceivedLine()));
            Assert.That(serverLines[1], Is.EqualTo("Send: 'Hello World!'"));
            Assert.That(serverLines[2], Is.EqualTo("Close the connection"));
        });
    }

    [Test]
    public async Task RxStreamsClient_AgainstPythonSeedServer()
    {
        RequirePython();
        var python = StartPython("server.py", SeedServer.Replace("8888", "0", StringComparison.Ordinal));
        int port = ParseServingOn(await python.WaitForLineAsync(line => line.StartsWith("Serving on", StringComparison.Ordinal)));

        // The seed's client, in C#.
        var (reader, writer) = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
        var local = (IPEndPoint)writer.LocalEndPoint!;
        writer.Write(Loopback.Bytes("Hello World!"));
        var data = await reader.ReadAsync(100).Within();
        var afterServerClose = await reader.ReadAsync(100).Within();
        writer.Close();
        await writer.WaitClosedAsync().Within();

        Assert.Multiple(() =>
        {
            Assert.That(Loopback.Text(data), Is.EqualTo("Hello World!"));
            Assert.That(afterServerClose.IsEmpty, Is.True, "the Python handler closes the connection: EOF");
        });

        await python.WaitForLineAsync(line => line == "Close the connection");
        Assert.That(python.StdoutLines, Is.EqualTo(new[]
        {
            $"Serving on ('127.0.0.1', {port})",
            $"Received 'Hello World!' from ('127.0.0.1', {local.Port})",
            "Send: 'Hello World!'",
            "Close the connection",
        }), python.Transcript);
        Assert.That(python.HasExited, Is.False, "serve_forever keeps the Python server running");
    }

    [Test]
    public async Task CliDemo_InProcess_PrintsTheSeedConversation()
    {
        var run = CommandLineRunAsync();
        var output = new StringWriter();
        var error = new StringWriter();

        int exitCode = await run(["demo"], TextWriter.Synchronized(output), TextWriter.Synchronized(error)).Within();

        Assert.That(exitCode, Is.Zero, error.ToString());
        AssertDemoOutput(SeedPrograms.Lines(output.ToString()), output.ToString());
    }

    [Test]
    public async Task CliDemo_AsProcess_PrintsTheSeedConversation()
    {
        var demo = StartCli("demo");

        int exitCode = await demo.WaitForExitAsync();

        Assert.That(exitCode, Is.Zero, demo.Transcript);
        AssertDemoOutput(demo.StdoutLines, demo.Transcript);
    }

    [Test]
    public async Task PythonSeedClient_AgainstCliEcho()
    {
        RequirePython();
        var echo = StartCli("echo", "--port", "0");
        int port = ParseServingOn(await echo.WaitForLineAsync(line => line.StartsWith("Serving on", StringComparison.Ordinal)));

        var client = StartPython("client.py", SeedClientTop.Replace("8888", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Assert.That(await client.WaitForExitAsync(), Is.Zero, client.Transcript);
        Assert.That(client.StdoutLines, Is.EqualTo(SeedClientOutput), client.Transcript);

        await echo.WaitForLineAsync(line => line == "Close the connection");
        var lines = echo.StdoutLines;
        Assert.That(lines, Has.Length.EqualTo(4), echo.Transcript);
        Assert.Multiple(() =>
        {
            Assert.That(lines[1], Does.Match(ServerReceivedLine()));
            Assert.That(lines[2], Is.EqualTo("Send: 'Hello World!'"));
            Assert.That(lines[3], Is.EqualTo("Close the connection"));
        });
    }

    [Test]
    public async Task CliSend_AgainstPythonSeedServer_PrintsWhatThePythonClientPrints()
    {
        RequirePython();
        var python = StartPython("server.py", SeedServer.Replace("8888", "0", StringComparison.Ordinal));
        int port = ParseServingOn(await python.WaitForLineAsync(line => line.StartsWith("Serving on", StringComparison.Ordinal)));

        var send = StartCli("send", "--port", port.ToString(CultureInfo.InvariantCulture), "Hello World!");

        Assert.That(await send.WaitForExitAsync(), Is.Zero, send.Transcript);
        Assert.That(send.StdoutLines, Is.EqualTo(SeedClientOutput), send.Transcript);
        await python.WaitForLineAsync(line => line == "Close the connection");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task CliEchoLines_WithNetcat(bool threadPool)
    {
        var nc = ChildProcess.FindOnPath("nc");
        Assume.That(nc, Is.Not.Null, "nc (netcat) is not installed");

        // By default the tool serves from the library's event loops (Linux x64); --thread-pool from .NET's engine.
        var echo = threadPool ? StartCli("echo", "--port", "0", "--lines", "--thread-pool") : StartCli("echo", "--port", "0", "--lines");
        int port = ParseServingOn(await echo.WaitForLineAsync(line => line.StartsWith("Serving on", StringComparison.Ordinal)));

        // -N: shut the socket down after EOF on stdin (OpenBSD netcat), so the server sees the end of the input.
        var client = ChildProcess.Start(nc!, ["-N", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture)], _workDirectory!.FullName, redirectStdin: true);
        _processes.Add(client);
        await client.StandardInput.WriteAsync("one\ntwo\nthree\nlast line without newline");
        await client.StandardInput.FlushAsync();
        client.StandardInput.Close();

        int exitCode = await client.WaitForExitAsync();

        Assert.That(exitCode, Is.Zero, client.Transcript);
        Assert.That(client.StdoutLines, Is.EqualTo(new[] { "one", "two", "three", "last line without newline" }), client.Transcript);
        Assert.That(echo.HasExited, Is.False, "the echo server keeps serving after a client leaves");

        // A second client on the same server.
        var again = ChildProcess.Start(nc!, ["-N", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture)], _workDirectory!.FullName, redirectStdin: true);
        _processes.Add(again);
        await again.StandardInput.WriteAsync("again\n");
        again.StandardInput.Close();
        Assert.That(await again.WaitForExitAsync(), Is.Zero, again.Transcript);
        Assert.That(again.StdoutLines, Is.EqualTo(new[] { "again" }), again.Transcript);
    }

    private static void AssertDemoOutput(string[] lines, string transcript)
    {
        Assert.That(lines, Has.Length.EqualTo(7), transcript);
        int serverPort = ParseServingOn(lines[0]);
        Assert.Multiple(() =>
        {
            Assert.That(lines[1], Is.EqualTo("Send: 'Hello World!'"), "the client speaks first");
            Assert.That(lines.Count(l => l == "Send: 'Hello World!'"), Is.EqualTo(2), transcript);
            Assert.That(lines.Count(l => l == "Close the connection"), Is.EqualTo(2), transcript);
            Assert.That(lines.Count(l => l == "Received: 'Hello World!'"), Is.EqualTo(1), transcript);
            var received = lines.Single(l => ServerReceivedLine().IsMatch(l));
            int clientPort = int.Parse(ServerReceivedLine().Match(received).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.That(clientPort, Is.Not.EqualTo(serverPort), "peername is the client's address");

            // The server's lines are in handle_echo's order, and the client hears the echo only after it was sent.
            int serverReceived = IndexOf(lines, received);
            int serverSend = LastIndexOf(lines, "Send: 'Hello World!'");
            int clientReceived = IndexOf(lines, "Received: 'Hello World!'");
            Assert.That(serverReceived, Is.LessThan(serverSend), transcript);
            Assert.That(serverSend, Is.LessThan(clientReceived), transcript);
            Assert.That(lines[^1], Is.EqualTo("Close the connection"), transcript);
        });
    }

    private static int IndexOf(string[] lines, string line)
    {
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i] == line)
            {
                return i;
            }
        }

        return -1;
    }

    private static int LastIndexOf(string[] lines, string line)
    {
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            if (lines[i] == line)
            {
                return i;
            }
        }

        return -1;
    }

    private static int ParseServingOn(string line)
    {
        var match = ServingOnLine().Match(line);
        Assert.That(match.Success, Is.True, $"unexpected first line: {line}");
        int port = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(port, Is.InRange(1, 65535));
        return port;
    }

    /// <summary>A seed program from <c>Interop/Data</c>, copied next to the tests by the project file.</summary>
    private static string SeedFile(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Interop", "Data", name)).ReplaceLineEndings("\n").TrimEnd('\n');

    /// <summary>
    /// <paramref name="relativePath"/> in a directory above the clone the tests were built in (the first directory above
    /// the test output holding RxStreams.sln), the nearest first, if such a file exists; <see langword="null"/> otherwise.
    /// </summary>
    private static string? FindBesideTheRepository(string relativePath)
    {
        var clone = new DirectoryInfo(AppContext.BaseDirectory);
        while (clone is not null && !File.Exists(Path.Combine(clone.FullName, "RxStreams.sln")))
        {
            clone = clone.Parent;
        }

        for (var directory = clone?.Parent; directory is not null; directory = directory.Parent)
        {
            var path = Path.Combine(directory.FullName, relativePath);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static void RequirePython() =>
        Assume.That(ChildProcess.FindOnPath("python3"), Is.Not.Null, "python3 is not installed");

    /// <summary>
    /// <c>RxStreams.Cli.CommandLine.RunAsync</c> is internal and the CLI has no InternalsVisibleTo for the tests (src is
    /// not ours to change), so it is reached by reflection; the signature is checked here.
    /// </summary>
    private static Func<string[], TextWriter, TextWriter, Task<int>> CommandLineRunAsync()
    {
        var assembly = Assembly.Load(new AssemblyName("RxStreams.Cli"));
        var type = assembly.GetType("RxStreams.Cli.CommandLine", throwOnError: true)!;
        var method = type.GetMethod("RunAsync", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(string[]), typeof(TextWriter), typeof(TextWriter)]);
        Assert.That(method, Is.Not.Null, "RxStreams.Cli.CommandLine.RunAsync(string[], TextWriter, TextWriter) not found");
        return method!.CreateDelegate<Func<string[], TextWriter, TextWriter, Task<int>>>();
    }

    private ChildProcess StartPython(string fileName, string program)
    {
        var path = Path.Combine(_workDirectory!.FullName, fileName);
        File.WriteAllText(path, program.ReplaceLineEndings("\n") + "\n");
        var process = ChildProcess.Start(ChildProcess.FindOnPath("python3")!, ["-u", path], _workDirectory.FullName);
        _processes.Add(process);
        return process;
    }

    private ChildProcess StartCli(params string[] arguments)
    {
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");
        Assert.That(File.Exists(cli), Is.True, $"{cli} is missing: the CLI is copied next to the tests by the project reference");
        var process = ChildProcess.Start(ChildProcess.DotnetHost(), [cli, .. arguments], _workDirectory!.FullName);
        _processes.Add(process);
        return process;
    }
}
