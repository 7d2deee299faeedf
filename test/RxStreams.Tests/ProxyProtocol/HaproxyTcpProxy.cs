using System.Net.Sockets;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// A real HAProxy in TCP mode (<c>send-proxy-v2</c>) run in the foreground as a child process, with its config in a temp
/// directory and its frontend on 127.0.0.1 only, in front of a backend port. Killed on dispose.
/// </summary>
/// <remarks>Debian's <c>haproxy</c>, installed by <c>.ci/run</c>; a machine without it fails the test rather than skipping it.</remarks>
internal sealed class HaproxyTcpProxy : LocalProxyProcess
{
    private HaproxyTcpProxy(Launch launch)
        : base(launch)
    {
    }

    public string Transcript => Process.Transcript;

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
            catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionRefused && DateTime.UtcNow < deadline && !Process.HasExited)
            {
                await Task.Delay(20);
            }
        }
    }

    /// <summary>Starts HAProxy; <paramref name="serverOptions"/> are appended to the backend's <c>server</c> line.</summary>
    public static async Task<HaproxyTcpProxy> StartAsync(int backendPort, string serverOptions, string frontendLines = "")
    {
        string haproxy = FindBinary("haproxy", ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"], "this test needs Debian's haproxy (.ci/run installs it; here: apt-get install haproxy).");
        return new HaproxyTcpProxy(await LaunchAsync(new Launcher(haproxy, backendPort, serverOptions, frontendLines)));
    }

    private sealed class Launcher(string haproxy, int backendPort, string serverOptions, string frontendLines) : ILauncher
    {
        public string Name => "haproxy";

        public async Task<ChildProcess> StartAsync(DirectoryInfo directory, int port)
        {
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
            return ChildProcess.Start(haproxy, ["-f", config, "-db", "-V"], directory.FullName);
        }

        public async Task<bool> WaitUntilListeningAsync(ChildProcess process, DirectoryInfo directory)
        {
            await process.WaitForLineAsync(static line => line.StartsWith("Using ", StringComparison.Ordinal) && line.Contains("polling mechanism", StringComparison.Ordinal));
            return true;
        }

        public string FailureLog(ChildProcess process, DirectoryInfo directory) => process.Transcript;

        public bool LostThePort(string failureLog) => failureLog.Contains("cannot bind", StringComparison.Ordinal);
    }
}
