using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>
/// <c>lstat</c> for the two facts .NET does not expose: whether a path is a socket, and its inode (Python 3.13's
/// <c>cleanup_socket</c> removes a socket file only if it is still the same inode it created).
/// </summary>
internal static partial class UnixFileStat
{
    private const uint FileTypeMask = 0xF000;
    private const uint SocketType = 0xC000;

    /// <summary>Reads the type and inode of <paramref name="path"/>; false when it does not exist or the platform is not supported.</summary>
    public static bool TryGet(string path, out bool isSocket, out ulong inode)
    {
        isSocket = false;
        inode = 0;

        // struct stat: st_ino follows st_dev (8 bytes) on both; st_mode is at 24 on x86-64 (after st_nlink) and at
        // 16 on arm64 (before st_nlink).
        int modeOffset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,
            Architecture.Arm64 => 16,
            _ => -1,
        };
        if (modeOffset < 0 || !OperatingSystem.IsLinux())
        {
            return false;
        }

        var buffer = new byte[256];
        if (LStat(path, buffer) != 0)
        {
            return false;
        }

        inode = BitConverter.ToUInt64(buffer, 8);
        isSocket = (BitConverter.ToUInt32(buffer, modeOffset) & FileTypeMask) == SocketType;
        return true;
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LStat(string path, [Out] byte[] buffer);
}
