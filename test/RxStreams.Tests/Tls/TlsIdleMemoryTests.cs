using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using RxStreams.Framing;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Tls;

/// <summary>
/// An idle TLS connection holds no receive buffer: the reader waits with a zero-byte SslStream read, which waits with a
/// zero-byte socket read. Measured as managed heap per idle server-side connection, the clients in a Python process.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TlsIdleMemoryTests
{
    private const int Connections = 300;

    private const string ClientScript = """
        import socket, ssl, sys
        port, n, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
        context = ssl.create_default_context(cafile=ca)
        socks = []
        for _ in range(n):
            s = context.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=30), server_hostname='localhost')
            s.sendall(b'hi\n')
            assert s.recv(3) == b'hi\n'
            socks.append(s)
        print('ready', flush=True)
        sys.stdin.readline()
        """;

    [Test]
    public async Task IdleTlsConnections_HoldNoReceiveBuffer()
    {
        var python = ChildProcess.FindOnPath("python3");
        Assume.That(python, Is.Not.Null, "python3 holds the clients in a second process");
        var directory = Directory.CreateTempSubdirectory("rxstreams-tls-idle-");
        try
        {
            string ca = Path.Combine(directory.FullName, "ca.pem");
            File.WriteAllText(ca, TestCertificates.Ca.ExportCertificatePem());
            string script = Path.Combine(directory.FullName, "clients.py");
            File.WriteAllText(script, ClientScript.ReplaceLineEndings("\n"));

            var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = TestCertificates.ServerOptions(), Backlog = Connections });
            await using var guard = Loopback.Guard(server);
            int accepted = 0;
            using var serving = server.Subscribe(c =>
            {
                Interlocked.Increment(ref accepted);
                c.Reader.Lines().Subscribe(c.Writer); // after one echoed line each is idle, with a pending read
            });

            long before = ManagedBytes();
            await using var clients = ChildProcess.Start(python!, [script, server.Port().ToString(CultureInfo.InvariantCulture), Connections.ToString(CultureInfo.InvariantCulture), ca], directory.FullName, redirectStdin: true);
            await clients.WaitForLineAsync(static line => line == "ready").WaitAsync(TimeSpan.FromSeconds(120));
            long after = ManagedBytes();
            long perConnection = (after - before) / Connections;
            TestContext.Out.WriteLine($"managed heap {before / 1024} KiB -> {after / 1024} KiB: {perConnection} bytes per idle TLS connection ({accepted} accepted)");

            Assert.That(accepted, Is.EqualTo(Connections));

            // Measured: about 10 KiB each (SslStream, its OpenSSL handle wrappers, the per-connection options and TlsInfo).
            // A 16 KiB receive buffer held per connection (ours or SslStream's) would put it above 26 KiB.
            Assert.That(perConnection, Is.LessThan(16 * 1024));
            clients.StandardInput.WriteLine();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static long ManagedBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
