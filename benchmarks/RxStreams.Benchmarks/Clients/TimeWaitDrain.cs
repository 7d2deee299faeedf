using System.Diagnostics;

namespace RxStreams.Benchmarks.Clients;

/// <summary>
/// Waits until the kernel's TIME_WAIT sockets have (mostly) expired, so every connect-rate benchmark starts with the
/// same ephemeral-port table. One method's run leaves about 14,000 of them for 60 s (the port range holds 28,000), and
/// a method run next paid about 10 % more per connect for it (217 vs 196 us per connection for the same server): the
/// methods run in declaration order, so that cost fell on whichever came last.
/// </summary>
internal static class TimeWaitDrain
{
    private const int Threshold = 1_000;
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(70); // TIME_WAIT lasts 60 s on Linux

    public static async Task WaitAsync()
    {
        var watch = Stopwatch.StartNew();
        while (CountTimeWait() > Threshold && watch.Elapsed < MaxWait)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Sockets in state 06 (TIME_WAIT) in /proc/net/tcp and tcp6; 0 where those files do not exist.</summary>
    private static int CountTimeWait()
    {
        int count = 0;
        foreach (var path in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(path))
            {
                continue;
            }

            foreach (var line in File.ReadLines(path).Skip(1))
            {
                // "  sl  local_address rem_address   st ...": the fourth field is the state.
                var fields = line.Split(' ', 5, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 3 && fields[3] == "06")
                {
                    count++;
                }
            }
        }

        return count;
    }
}
