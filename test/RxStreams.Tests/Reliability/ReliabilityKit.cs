using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Reliability;

/// <summary>Helpers for the fault, churn and timeout tests: bounded condition waits and the process's resource counts.</summary>
internal static class ReliabilityKit
{
    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checking every millisecond or so, and fails after
    /// <see cref="Loopback.Timeout"/>: for states with no event to await (a buffer filled, a count dropping).
    /// </summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? bound = null) =>
        WaitUntilAsync(condition, () => what, bound);

    /// <summary>As <see cref="WaitUntilAsync(Func{bool}, string, TimeSpan?)"/>, describing the state only when it gives up.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, Func<string> what, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? Loopback.Timeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Gave up waiting for: {what()}");
            }

            await Task.Delay(1);
        }
    }

    /// <summary>
    /// Teardown for a server whose scheduler may be virtual (so a graceful shutdown's grace period never ends): stop
    /// listening, abort what is left, and wait (bounded) until every connection is released.
    /// </summary>
    public static IAsyncDisposable AbortOnDispose(StreamServer server) => new Aborter(server);

    private sealed class Aborter(StreamServer server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            server.Close();
            server.AbortClients();
            await server.WaitClosedAsync().WaitAsync(Loopback.Timeout);
        }
    }

    /// <summary>An environment variable as a positive integer, or <paramref name="fallback"/>.</summary>
    public static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value > 0 ? value : fallback;

    /// <summary>
    /// The process's open file descriptors (Linux: entries of <c>/proc/self/fd</c>), except assembly files: the runtime
    /// opens a framework <c>.dll</c> the first time code needs it and keeps it for the life of the process, which is
    /// not a resource the library holds.
    /// </summary>
    public static int OpenFileDescriptors() =>
        DescriptorTargets().Values.Count(static t => !t.EndsWith(".dll", StringComparison.Ordinal));

    /// <summary>What each open descriptor points at (<c>socket:[inode]</c>, a path, <c>anon_inode:[eventpoll]</c>...).</summary>
    public static Dictionary<string, string> DescriptorTargets()
    {
        var targets = new Dictionary<string, string>();
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                targets[Path.GetFileName(fd)] = new FileInfo(fd).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                // closed while we looked
            }
        }

        return targets;
    }

    /// <summary>The descriptors open now that were not in <paramref name="before"/>, for a failure message.</summary>
    public static string NewDescriptors(Dictionary<string, string> before) =>
        string.Join(", ", DescriptorTargets().Where(p => !before.TryGetValue(p.Key, out var t) || t != p.Value)
            .Where(static p => !p.Value.EndsWith(".dll", StringComparison.Ordinal)).Select(p => $"{p.Key}->{p.Value}"));

    /// <summary>The process's open sockets: descriptors that are links to <c>socket:[inode]</c>.</summary>
    public static int OpenSockets()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("Counts sockets in /proc/self/fd (Linux only).");
        }

        int count = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // closed while we looked: not open
            }
        }

        return count;
    }

    /// <summary>Whether <paramref name="error"/> (or an inner one) is a connection reset or abort as the OS reports it.</summary>
    public static bool IsResetLike(Exception? error) => error switch
    {
        null => false,
        SocketException s => s.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown,
        _ => IsResetLike(error.InnerException),
    };

    /// <summary>Reads from a raw peer until EOF or a reset; true if it ended (either way) within the bound.</summary>
    public static async Task<bool> PeerSeesEndAsync(Socket peer)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await peer.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Loopback.Timeout);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
