using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// A real HAProxy in TCP mode (<c>send-proxy-v2</c>) run in the foreground as a child process, with its config in a temp
/// directory and its frontend on 127.0.0.1 only, in front of a backend port. Killed on dispose.
/// </summary>
/// <remarks>Debian's <c>haproxy</c>, installed by <c>.ci/run</c>; a machine without it fails the test rather than skipping it.</remarks>
internal sealed class HaproxyTcpProxy : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly DirectoryInfo _directory;

    private HaproxyTcpProxy(ChildProcess process, DirectoryInfo directory, int port)
    {
        _process = process;
        _directory = directory;
        EndPoint = new IPEndPoint(IPAddress.Loopback, port);
    }

    /// <summary>Where clients connect.</summary>
    public IPEndPoint EndPoint { get; }

    public string Transcript => _process.Transcript;

    /// <summary>
    /// Connects a raw client to the frontend. HAProxy prints its start-up line after binding but may start listening a
    /// moment later, so a refused connect is retried (bounded by <see cref="Loopback.Timeout"/>); a refused attempt
    /// reaches no backend, so the test's server sees only the real connection.
    /// </summary>
    public async Task<Socket> ConnectAsync()
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (true)
        {
            try
            {
                return await Loopback.ConnectRawAsync(EndPoint);
            }
            catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionRefused && DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(20);
            }
        }
    }

    /// <summary>Starts HAProxy; <paramref name="serverOptions"/> are appended to the backend's <c>server</c> line.</summary>
    public static async Task<HaproxyTcpProxy> StartAsync(int backendPort, string serverOptions, string frontendLines = "")
    {
        string haproxy = ChildProcess.FindOnPath("haproxy")
            ?? new[] { "/usr/sbin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists)
            ?? throw new AssertionException("haproxy is not installed: this test needs Debian's haproxy (.ci/run installs it; here: apt-get install haproxy).");
        var directory = Directory.CreateTempSubdirectory("rxstreams-haproxy-");
        for (int attempt = 1; ; attempt++)
        {
            int port = FreePort();
            string config = Path.Combine(directory.FullName, "haproxy.cfg");
            await File.WriteAllTextAsync(config, $"""
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend fe
                    bind 127.0.0.1:{port}
                    {frontendLines}
                    default_backend be
                backend be
                    server s1 127.0.0.1:{backendPort} {serverOptions}

                """); // HAProxy insists on a final LF

            // -db: stay in the foreground; -V prints "Using epoll() ..." once the frontend is bound.
            var process = ChildProcess.Start(haproxy, ["-f", config, "-db", "-V"], directory.FullName);
            try
            {
                await process.WaitForLineAsync(static line => line.StartsWith("Using ", StringComparison.Ordinal) && line.Contains("polling mechanism", StringComparison.Ordinal));
                return new HaproxyTcpProxy(process, directory, port);
            }
            catch (InvalidOperationException) when (attempt < 3 && process.Stderr.Contains("cannot bind", StringComparison.Ordinal))
            {
                await process.DisposeAsync(); // another process took the free port between our probe and HAProxy's bind
            }
            catch
            {
                string transcript = process.Transcript;
                await process.DisposeAsync();
                directory.Delete(recursive: true);
                Assert.Fail($"haproxy did not start.\n{transcript}");
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
