using System.Globalization;
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
internal sealed partial class NginxStreamProxy : LocalProxyProcess
{
    private NginxStreamProxy(Launch launch)
        : base(launch)
    {
    }

    /// <summary>The error log so far, for failure messages.</summary>
    public string ErrorLog => ReadErrorLog(Directory);

    public static async Task<NginxStreamProxy> StartAsync(int backendPort)
    {
        string nginx = FindBinary("nginx", ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"], "this test needs Debian's nginx and libnginx-mod-stream (.ci/run installs them; here: apt-get install nginx libnginx-mod-stream).");
        string? module = await StreamModuleToLoadAsync(nginx);
        return new NginxStreamProxy(await LaunchAsync(new Launcher(nginx, module, backendPort)));
    }

    private sealed class Launcher(string nginx, string? module, int backendPort) : ILauncher
    {
        public string Name => "nginx";

        public async Task<ChildProcess> StartAsync(DirectoryInfo directory, int port)
        {
            string config = Path.Combine(directory.FullName, "nginx.conf");
            File.Delete(PidFile(directory));
            await File.WriteAllTextAsync(config, Config(module, directory.FullName, port, backendPort));
            return ChildProcess.Start(nginx, ["-p", directory.FullName + "/", "-c", config, "-e", Path.Combine(directory.FullName, "error.log")], directory.FullName);
        }

        /// <summary>nginx writes its pid file after it has bound the listening socket: wait for that file or for an exit.</summary>
        public async Task<bool> WaitUntilListeningAsync(ChildProcess process, DirectoryInfo directory)
        {
            string pid = PidFile(directory);
            var deadline = DateTime.UtcNow + Loopback.Timeout;
            while (!File.Exists(pid) && !process.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            return File.Exists(pid) && !process.HasExited;
        }

        public string FailureLog(ChildProcess process, DirectoryInfo directory) => ReadErrorLog(directory) + process.Transcript;

        public bool LostThePort(string failureLog) => failureLog.Contains("Address already in use", StringComparison.Ordinal);

        private static string PidFile(DirectoryInfo directory) => Path.Combine(directory.FullName, "nginx.pid");
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
