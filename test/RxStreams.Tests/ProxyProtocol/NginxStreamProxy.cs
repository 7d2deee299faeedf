using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RxStreams.Tests.Interop;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// A real nginx <c>stream</c> proxy with <c>proxy_protocol on;</c>, run as a child process from a temp directory (its own
/// config, pid and error log; listening on 127.0.0.1 only) in front of a backend port. Killed on dispose.
/// </summary>
/// <remarks>
/// nginx is a Debian package that <c>.ci/run</c> installs (<c>nginx</c>, plus <c>libnginx-mod-stream</c> where the stream
/// module is dynamic). A machine without it fails the test rather than skipping it.
/// </remarks>
internal sealed partial class NginxStreamProxy : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly DirectoryInfo _directory;

    private NginxStreamProxy(ChildProcess process, DirectoryInfo directory, int port)
    {
        _process = process;
        _directory = directory;
        EndPoint = new IPEndPoint(IPAddress.Loopback, port);
    }

    /// <summary>Where clients connect.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The error log so far, for failure messages.</summary>
    public string ErrorLog => ReadErrorLog(_directory);

    public static async Task<NginxStreamProxy> StartAsync(int backendPort)
    {
        string nginx = FindNginx();
        string? module = await StreamModuleToLoadAsync(nginx);
        var directory = Directory.CreateTempSubdirectory("rxstreams-nginx-");
        for (int attempt = 1; ; attempt++)
        {
            int port = FreePort();
            string config = Path.Combine(directory.FullName, "nginx.conf");
            string pid = Path.Combine(directory.FullName, "nginx.pid");
            File.Delete(pid);
            await File.WriteAllTextAsync(config, Config(module, directory.FullName, port, backendPort));
            var process = ChildProcess.Start(nginx, ["-p", directory.FullName + "/", "-c", config, "-e", Path.Combine(directory.FullName, "error.log")], directory.FullName);

            // nginx writes its pid file after it has bound the listening socket: wait for that file or for an exit.
            var deadline = DateTime.UtcNow + Loopback.Timeout;
            while (!File.Exists(pid) && !process.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            if (File.Exists(pid) && !process.HasExited)
            {
                return new NginxStreamProxy(process, directory, port);
            }

            string log = ReadErrorLog(directory) + process.Transcript;
            await process.DisposeAsync();
            if (attempt < 3 && log.Contains("Address already in use", StringComparison.Ordinal))
            {
                continue; // another process took the free port between our probe and nginx's bind
            }

            directory.Delete(recursive: true);
            Assert.Fail($"nginx did not start listening within {Loopback.Timeout}.\n{log}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // a log file still held: the temp directory is cleaned up by the OS later
        }
    }

    private static string Config(string? module, string directory, int port, int backendPort) => string.Create(CultureInfo.InvariantCulture, $$"""
        {{(module is null ? string.Empty : $"load_module {module};")}}
        daemon off;
        master_process off;
        worker_processes 1;
        pid {{directory}}/nginx.pid;
        error_log {{directory}}/error.log info;
        events { worker_connections 64; }
        stream {
            server {
                listen 127.0.0.1:{{port}};
                proxy_pass 127.0.0.1:{{backendPort}};
                proxy_protocol on;
                proxy_half_close on;
                proxy_connect_timeout 5s;
                proxy_timeout 30s;
            }
        }
        """);

    private static string FindNginx() =>
        ChildProcess.FindOnPath("nginx")
        ?? new[] { "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx" }.FirstOrDefault(File.Exists)
        ?? throw new AssertionException("nginx is not installed: this test needs Debian's nginx and libnginx-mod-stream (.ci/run installs them; here: apt-get install nginx libnginx-mod-stream).");

    /// <summary>The stream module's path when this nginx builds it as a dynamic module (Debian), null when it is built in.</summary>
    private static async Task<string?> StreamModuleToLoadAsync(string nginx)
    {
        await using var version = ChildProcess.Start(nginx, ["-V"]);
        await version.WaitForExitAsync();
        string configure = version.Stderr + string.Join("\n", version.StdoutLines);
        if (!configure.Contains("--with-stream=dynamic", StringComparison.Ordinal))
        {
            Assert.That(configure, Does.Contain("--with-stream"), "this nginx has no stream module");
            return null;
        }

        var modules = ModulesPath().Match(configure) is { Success: true } match ? match.Groups[1].Value : "/usr/lib/nginx/modules";
        string path = Path.Combine(modules, "ngx_stream_module.so");
        Assert.That(File.Exists(path), Is.True, $"{path} is missing: install libnginx-mod-stream (.ci/run does)");
        return path;
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static string ReadErrorLog(DirectoryInfo directory)
    {
        string path = Path.Combine(directory.FullName, "error.log");
        try
        {
            return File.Exists(path) ? "error.log:\n" + File.ReadAllText(path) : "(no error.log)\n";
        }
        catch (IOException error)
        {
            return $"(error.log unreadable: {error.Message})\n";
        }
    }

    [GeneratedRegex(@"--modules-path=(\S+)")]
    private static partial Regex ModulesPath();
}
