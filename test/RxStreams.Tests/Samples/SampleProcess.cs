using System.Globalization;
using NUnit.Framework;
using RxStreams.Tests.Interop;

namespace RxStreams.Tests.Samples;

/// <summary>Starts a sample from the test output with <c>--port 0</c> and reads the port it prints as its first line.</summary>
internal static class SampleProcess
{
    public static async Task<(ChildProcess Process, int Port)> StartAsync(string assemblyName)
    {
        var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, assemblyName + ".dll");
        var process = ChildProcess.Start(ChildProcess.DotnetHost(), [dll, "--host", "127.0.0.1", "--port", "0"]);
        try
        {
            var first = await process.WaitForLineAsync(static _ => true);
            return (process, int.Parse(first, NumberStyles.None, CultureInfo.InvariantCulture));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>A Debian tool the sample tests drive; .ci/run installs it (netcat-openbsd, redis-tools).</summary>
    public static string Tool(string name, string package)
    {
        var path = ChildProcess.FindOnPath(name);
        Assert.That(path, Is.Not.Null, $"'{name}' is missing: apt-get install {package} (.ci/run installs it)");
        return path!;
    }
}
