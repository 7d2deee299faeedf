using System.Globalization;

namespace RxStreams.Benchmarks.Reporting;

/// <summary>
/// Hands each server's CPU time from the benchmark processes to the host's summary. BenchmarkDotNet runs every
/// benchmark case in a process of its own and brings back only its own measurements, so the case writes what its
/// server process spent to a file in a directory the host names (<see cref="DirectoryVariable"/>, inherited by the
/// children), and <see cref="EchoOperationColumn"/> reads it when the summary is printed.
/// </summary>
internal static class ServerCpuRecords
{
    /// <summary>Set by <c>Program</c> to a fresh directory for one run of the switcher.</summary>
    public const string DirectoryVariable = "RXSTREAMS_BENCH_SERVER_CPU_DIR";

    /// <summary>Records that the server behind <paramref name="method"/> spent <paramref name="cpu"/> on <paramref name="operations"/> operations.</summary>
    public static void Write(Type benchmark, string method, TimeSpan cpu, double operations)
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is not { Length: > 0 } directory || !Directory.Exists(directory))
        {
            return;
        }

        File.WriteAllText(PathOf(directory, benchmark, method), string.Create(CultureInfo.InvariantCulture, $"{cpu.TotalSeconds:R} {operations:R}"));
    }

    /// <summary>The server's CPU seconds per operation for one benchmark case, if its process recorded them.</summary>
    public static double? SecondsPerOperation(Type benchmark, string method)
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is not { Length: > 0 } directory
            || !File.Exists(PathOf(directory, benchmark, method)))
        {
            return null;
        }

        var fields = File.ReadAllText(PathOf(directory, benchmark, method)).Split(' ');
        var seconds = double.Parse(fields[0], CultureInfo.InvariantCulture);
        var operations = double.Parse(fields[1], CultureInfo.InvariantCulture);
        return operations > 0 ? seconds / operations : null;
    }

    private static string PathOf(string directory, Type benchmark, string method) =>
        Path.Combine(directory, $"{benchmark.FullName}.{method}.txt");
}
