using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Interop;

namespace RxStreams.Tests.ProxyProtocol;

/// <summary>
/// What the nginx and HAProxy child-process proxies share: find the binary, make a temp directory, write a config for a
/// free 127.0.0.1 port, start the process, wait until it listens (retrying on a lost port race), and on dispose kill it
/// and delete the directory.
/// </summary>
internal abstract class LocalProxyProcess : IAsyncDisposable
{
    private const int Attempts = 3;

    protected LocalProxyProcess(Launch launch)
    {
        Process = launch.Process;
        Directory = launch.Directory;
        EndPoint = new IPEndPoint(IPAddress.Loopback, launch.Port);
    }

    /// <summary>Where clients connect.</summary>
    public IPEndPoint EndPoint { get; }

    protected ChildProcess Process { get; }

    protected DirectoryInfo Directory { get; }

    /// <summary>A started, listening proxy process with its temp directory and frontend port.</summary>
    protected sealed record Launch(ChildProcess Process, DirectoryInfo Directory, int Port);

    /// <summary>How one kind of proxy is started and recognised as listening.</summary>
    protected interface ILauncher
    {
        /// <summary>Prefix of the temp directory's name.</summary>
        string Name { get; }

        /// <summary>Writes the config for <paramref name="port"/> into <paramref name="directory"/> and starts the process.</summary>
        Task<ChildProcess> StartAsync(DirectoryInfo directory, int port);

        /// <summary>True once the process listens; false when it exited or never got there.</summary>
        Task<bool> WaitUntilListeningAsync(ChildProcess process, DirectoryInfo directory);

        /// <summary>What the process said, for the failure message.</summary>
        string FailureLog(ChildProcess process, DirectoryInfo directory);

        /// <summary>True when the failure log says another process took the port between our probe and the bind.</summary>
        bool LostThePort(string failureLog);
    }

    /// <summary>Finds <paramref name="name"/> on PATH or at one of <paramref name="candidates"/>, or fails the test with <paramref name="installHint"/>.</summary>
    protected static string FindBinary(string name, string[] candidates, string installHint) =>
        ChildProcess.FindOnPath(name)
        ?? candidates.FirstOrDefault(File.Exists)
        ?? throw new AssertionException($"{name} is not installed: {installHint}");

    /// <summary>Starts the proxy on a free port, retrying (up to three times) when the port was taken before the bind.</summary>
    protected static async Task<Launch> LaunchAsync(ILauncher launcher)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory($"rxstreams-{launcher.Name}-");
        for (int attempt = 1; ; attempt++)
        {
            int port = FreePort();
            var process = await launcher.StartAsync(directory, port);
            bool listening;
            try
            {
                listening = await launcher.WaitUntilListeningAsync(process, directory);
            }
            catch
            {
                listening = false;
            }

            if (listening)
            {
                return new Launch(process, directory, port);
            }

            string log = launcher.FailureLog(process, directory);
            await process.DisposeAsync();
            if (attempt < Attempts && launcher.LostThePort(log))
            {
                continue;
            }

            directory.Delete(recursive: true);
            Assert.Fail($"{launcher.Name} did not start listening.\n{log}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        try
        {
            Directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // a log file still held: the temp directory is cleaned up by the OS later
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
