using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>
/// TLS against peers nobody here wrote: <c>openssl s_client</c> and Python's <c>ssl</c> module against
/// <c>rxstreams echo --tls-cert</c>, the library's client against <c>openssl s_server</c> and a Python TLS server.
/// Certificates are made at test time and written to a temp directory.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TlsInteropTests
{
    private readonly List<ChildProcess> _processes = [];
    private DirectoryInfo _directory = null!;
    private string _caPath = null!;
    private string _certPath = null!;
    private string _keyPath = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Directory.CreateTempSubdirectory("rxstreams-tls-interop-");
        (_certPath, _keyPath) = TestCertificates.WritePem(TestCertificates.Server, _directory.FullName);
        _caPath = Path.Combine(_directory.FullName, "ca.pem");
        File.WriteAllText(_caPath, TestCertificates.Ca.ExportCertificatePem());
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        _processes.Clear();
        _directory.Delete(recursive: true);
    }

    [Test]
    public async Task OpensslSClient_AgainstCliTlsEcho_VerifiesAndEchoes()
    {
        string openssl = RequireTool("openssl");
        var echo = StartCli("echo", "--port", "0", "--lines", "--tls-cert", _certPath, "--tls-key", _keyPath);
        int port = await ServingOnAsync(echo);

        // -verify_return_error: a certificate problem is fatal; -no_ign_eof: stdin's end ends the session.
        var client = Start(openssl, ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-verify_hostname", "localhost", "-CAfile", _caPath, "-verify_return_error", "-quiet", "-no_ign_eof"], redirectStdin: true);
        await client.StandardInput.WriteAsync("hello from openssl\nsecond line\n");
        await client.StandardInput.FlushAsync();
        await client.WaitForLineAsync(line => line == "second line");
        client.StandardInput.Close();

        Assert.That(await client.WaitForExitAsync(), Is.Zero, client.Transcript);
        Assert.That(client.StdoutLines, Is.EqualTo(new[] { "hello from openssl", "second line" }), client.Transcript);
        Assert.That(echo.HasExited, Is.False, "the server keeps serving");
    }

    [Test]
    public async Task PythonSslClient_AgainstCliTlsEcho_PfxCertificate()
    {
        string python = RequireTool("python3");
        string pfx = Path.Combine(_directory.FullName, "server.pfx");
        File.WriteAllBytes(pfx, TestCertificates.Server.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12));
        var echo = StartCli("echo", "--port", "0", "--lines", "--tls-cert", pfx);
        int port = await ServingOnAsync(echo);

        string script = Path.Combine(_directory.FullName, "client.py");
        File.WriteAllText(script, """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2])
            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"one\ntwo\n")
                    data = b""
                    while data.count(b"\n") < 2:
                        chunk = tls.recv(100)
                        if not chunk:
                            break
                        data += chunk
                    print(data.decode().replace("\n", "|"))
                    print(tls.version(), tls.cipher()[0])
            """.ReplaceLineEndings("\n"));
        var client = Start(python, ["-u", script, port.ToString(CultureInfo.InvariantCulture), _caPath]);

        Assert.That(await client.WaitForExitAsync(), Is.Zero, client.Transcript);
        Assert.That(client.StdoutLines[0], Is.EqualTo("one|two|"), client.Transcript);
        Assert.That(client.StdoutLines[1], Does.StartWith("TLSv1."), client.Transcript);
    }

    [Test]
    public async Task LibraryClient_AgainstOpensslSServer()
    {
        string openssl = RequireTool("openssl");
        int port = FreePort();
        // s_server's stdout is a pipe, so block-buffered: stdbuf makes its ACCEPT line arrive when it is printed.
        string stdbuf = RequireTool("stdbuf");
        var server = Start(stdbuf, ["-oL", openssl, "s_server", "-accept", port.ToString(CultureInfo.InvariantCulture), "-cert", _certPath, "-key", _keyPath, "-rev", "-naccept", "1"]);
        await server.WaitForLineAsync(line => line == "ACCEPT");

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", port, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        connection.Writer.Write(Loopback.Bytes("hello openssl\n"));
        Assert.That(Loopback.Text(await connection.Reader.ReadLineAsync().Within()), Is.EqualTo("lssnepo olleh\n"), "s_server -rev reverses each line");
        Assert.That(connection.Tls!.RemoteCertificate!.Thumbprint, Is.EqualTo(TestCertificates.Server.Thumbprint));
        connection.Writer.Close(); // close_notify: s_server (-naccept 1) ends its only session and exits
        await connection.Writer.WaitClosedAsync().Within();
        Assert.That(await server.WaitForExitAsync(), Is.Zero, server.Transcript);
    }

    [Test]
    public async Task LibraryClient_HalfClose_AgainstPythonTlsServer_ReplyAfterOurCloseNotify()
    {
        string python = RequireTool("python3");
        string script = Path.Combine(_directory.FullName, "server.py");
        File.WriteAllText(script, """
            import socket, ssl, sys
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            with socket.create_server(("127.0.0.1", 0)) as listener:
                print("port", listener.getsockname()[1], flush=True)
                raw, _ = listener.accept()
                raw.settimeout(10)
                with context.wrap_socket(raw, server_side=True) as tls:
                    received = b""
                    while True:
                        chunk = tls.recv(4096)
                        if not chunk:  # the client's close_notify
                            break
                        received += chunk
                    tls.sendall(b"got %d bytes after your close_notify" % len(received))
                    tls.unwrap()
                    print("done", flush=True)
            """.ReplaceLineEndings("\n"));
        var server = Start(python, ["-u", script, _certPath, _keyPath]);
        int port = int.Parse((await server.WaitForLineAsync(line => line.StartsWith("port ", StringComparison.Ordinal)))[5..], CultureInfo.InvariantCulture);

        await using var connection = await Streams.OpenConnectionAsync("127.0.0.1", port, new ConnectionOptions { Tls = TestCertificates.TrustingClient() }).Within();
        connection.Writer.Write(Loopback.Pattern(100_000));
        connection.Writer.WriteEof();

        var reply = await connection.Reader.ReadAsync(-1).Within();
        Assert.That(Loopback.Text(reply), Is.EqualTo("got 100000 bytes after your close_notify"));
        Assert.That(await server.WaitForExitAsync(), Is.Zero, server.Transcript);
        await connection.Writer.WaitClosedAsync().Within();
    }

    [Test]
    public async Task CliConnect_OverTls_StdinToSocket_EofHalfCloses_ExitsWhenPeerCloses()
    {
        var server = await Streams.StartServerAsync(
            static (reader, writer) => reader.Lines().Select(static line => (ReadOnlyMemory<byte>)Loopback.Bytes("> " + Loopback.Text(line))).ForEachAsync(line => writer.Write(line)),
            "127.0.0.1",
            0,
            new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);

        var connect = StartCli(redirectStdin: true, "connect", "--port", server.Port().ToString(CultureInfo.InvariantCulture), "--tls", "--insecure", "--sni", "localhost");
        await connect.StandardInput.WriteAsync("alpha\nbeta\n");
        await connect.StandardInput.FlushAsync();
        await connect.WaitForLineAsync(line => line == "> beta");
        connect.StandardInput.Close(); // write_eof: close_notify + FIN; the handler ends, the server closes, connect exits

        Assert.That(await connect.WaitForExitAsync(), Is.Zero, connect.Transcript);
        Assert.That(connect.StdoutLines, Is.EqualTo(new[] { "> alpha", "> beta" }), connect.Transcript);
    }

    [Test]
    public async Task CliConnect_OverUnix_StdinEofIsAHalfClose_TheReplyStillArrives()
    {
        string path = Path.Combine(_directory.FullName, "connect.sock");
        var server = await Streams.StartUnixServerAsync(
            static async (reader, writer) =>
            {
                var all = await reader.ReadAsync(-1); // everything, up to the client's write_eof
                writer.Write(Loopback.Bytes($"{all.Length} bytes, then your EOF\n"));
                await writer.DrainAsync();
            },
            path);
        await using var guard = Loopback.Guard(server);

        var connect = StartCli(redirectStdin: true, "connect", "--unix", path);
        await connect.StandardInput.WriteAsync("twelve bytes");
        await connect.StandardInput.FlushAsync();
        connect.StandardInput.Close();

        Assert.That(await connect.WaitForExitAsync(), Is.Zero, connect.Transcript);
        Assert.That(connect.StdoutLines, Is.EqualTo(new[] { "12 bytes, then your EOF" }), connect.Transcript);
    }

    [Test]
    public async Task CliSend_Tls_RefusesAnUntrustedServer_UnlessInsecure()
    {
        var server = await Streams.StartServerAsync(
            static async (reader, writer) =>
            {
                writer.Write(await reader.ReadAsync(100));
                await writer.DrainAsync();
            },
            "127.0.0.1",
            0,
            new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);
        string port = server.Port().ToString(CultureInfo.InvariantCulture);

        var refused = StartCli(redirectStdin: false, "send", "--port", port, "--tls", "--sni", "localhost", "Hello World!");
        Assert.That(await refused.WaitForExitAsync(), Is.EqualTo(1), refused.Transcript);
        Assert.That(refused.Stderr, Does.Contain("certificate").IgnoreCase, refused.Transcript);

        var insecure = StartCli(redirectStdin: false, "send", "--port", port, "--tls", "--insecure", "Hello World!");
        Assert.That(await insecure.WaitForExitAsync(), Is.Zero, insecure.Transcript);
        Assert.That(insecure.StdoutLines, Is.EqualTo(new[] { "Send: 'Hello World!'", "Received: 'Hello World!'", "Close the connection" }), insecure.Transcript);

        var misuse = StartCli(redirectStdin: false, "send", "--port", port, "--sni", "localhost", "x");
        Assert.That(await misuse.WaitForExitAsync(), Is.EqualTo(2), "asyncio: server_hostname is only meaningful with ssl");
    }

    private static string RequireTool(string name)
    {
        var path = ChildProcess.FindOnPath(name);
        Assume.That(path, Is.Not.Null, $"{name} is not installed (.ci/run installs it)");
        return path!;
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task<int> ServingOnAsync(ChildProcess server)
    {
        var line = await server.WaitForLineAsync(l => l.StartsWith("Serving on", StringComparison.Ordinal));
        var match = System.Text.RegularExpressions.Regex.Match(line, @"(\d+)\)$");
        Assert.That(match.Success, Is.True, line);
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private ChildProcess Start(string fileName, string[] arguments, bool redirectStdin = false)
    {
        var process = ChildProcess.Start(fileName, arguments, _directory.FullName, redirectStdin);
        _processes.Add(process);
        return process;
    }

    private ChildProcess StartCli(params string[] arguments) => StartCli(false, arguments);

    private ChildProcess StartCli(bool redirectStdin, params string[] arguments)
    {
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "RxStreams.Cli.dll");
        Assert.That(File.Exists(cli), Is.True, $"{cli} is missing");
        return Start(ChildProcess.DotnetHost(), [cli, .. arguments], redirectStdin);
    }
}
