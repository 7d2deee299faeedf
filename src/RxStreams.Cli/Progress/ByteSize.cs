using System.Globalization;

namespace RxStreams.Cli.Progress;

/// <summary>Byte counts for people: binary units (KiB, MiB, GiB), one decimal, invariant culture.</summary>
internal static class ByteSize
{
    private static readonly string[] Units = ["KiB", "MiB", "GiB", "TiB"];

    /// <summary><c>512 B</c>, <c>1.5 KiB</c>, <c>3.0 MiB</c>.</summary>
    public static string Format(double bytes)
    {
        if (bytes < 1024)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B");
        }

        int unit = -1;
        while (bytes >= 1024 && unit < Units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {Units[unit]}");
    }
}
