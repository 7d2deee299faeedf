using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>The few epoll calls the event-loop channel needs, straight from libc (Linux only).</summary>
internal static partial class Epoll
{
    public const uint In = 0x001;
    public const uint Error = 0x008;
    public const uint HangUp = 0x010;
    public const uint ReadHangUp = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    public const int Add = 1;
    public const int Delete = 2;

    private const int CloseOnExec = 0x80000;

    /// <summary>Whether this process can use the calls (Linux on x86-64: <see cref="Event"/> is laid out for it).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    public static int Create() => Create1(CloseOnExec);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int Create1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epoll, int operation, int descriptor, ref Event registration);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static unsafe partial int Wait(int epoll, Event* events, int maxEvents, int timeoutMilliseconds);

    /// <summary><c>struct epoll_event</c>, which x86-64 packs to 12 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct Event
    {
        public uint Events;
        public ulong Data;
    }
}
