using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>
/// The process's descriptor limit (<c>getrlimit(RLIMIT_NOFILE)</c>), from which a server's default connection cap is
/// derived: at the limit, accepting fails with EMFILE and the .NET runtime itself can abort ("Out of
/// memory.") when it needs a descriptor, so a server must stop short of it by itself.
/// </summary>
internal static partial class DescriptorLimit
{
    private const int LinuxRlimitNofile = 7, BsdRlimitNofile = 8;

    /// <summary>
    /// Descriptors left to the rest of the process: the runtime (its event loop, pipes, files, threads), the listening
    /// sockets, client connections and files of the application. 64, plus an eighth of the limit for applications
    /// that grow with it.
    /// </summary>
    public static int HeadroomFor(int limit) => 64 + (limit / 8);

    /// <summary>The cap for <paramref name="limit"/> descriptors: the limit less the headroom, at least 1.</summary>
    public static int ConnectionCapFor(int limit) => Math.Max(1, limit - HeadroomFor(limit));

    /// <summary>The soft <c>RLIMIT_NOFILE</c>; null when unlimited, above <see cref="int.MaxValue"/>, or not known (Windows, other platforms).</summary>
    public static int? Current()
    {
        int resource;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsAndroid())
        {
            resource = LinuxRlimitNofile;
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsIOS() || OperatingSystem.IsTvOS() || OperatingSystem.IsFreeBSD())
        {
            resource = BsdRlimitNofile;
        }
        else
        {
            return null;
        }

        try
        {
            return GetRLimit(resource, out var limit) == 0 && limit.Current <= int.MaxValue ? (int)limit.Current : null;
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current; // rlim_cur: 64 bits on every 64-bit Linux and on macOS/FreeBSD
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);
}
