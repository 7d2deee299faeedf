using System.Diagnostics;
using System.Text;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Interop;

/// <summary>
/// A child process (python3, dotnet, nc) with its output collected line by line, waits bounded by
/// <see cref="Loopback.Timeout"/>, and a kill (whole tree) on dispose.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string[] StdoutLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _stdout];
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Everything captured so far, for failure messages.</summary>
    public string Transcript => $"exit={(_process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "running")}\nstdout:\n{string.Join("\n", StdoutLines)}\nstderr:\n{Stderr}";

    public StreamWriter StandardInput => _process.StandardInput;

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, bool redirectStdin = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
            CreateNoWindow = true,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["PYTHONUNBUFFERED"] = "1";
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnStderr(e.Data);
        if (!process.Start())
        {
            process.Dispose();
            throw new InvalidOperationException($"Could not start {fileName}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits (bounded) for a stdout line that matches; returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var existing = _stdout.FirstOrDefault(match);
            if (existing is not null)
            {
                return existing;
            }

            _waiters.Add((match, found));
        }

        var exited = _process.WaitForExitAsync();
        // A line is often the first a process prints once started: a .NET child's start-up (JIT) on a loaded 2-core
        // machine can take longer than a loopback round trip's bound, so this bound is three times as long.
        var first = await Task.WhenAny(found.Task, exited).WaitAsync(3 * Loopback.Timeout);
        if (first != found.Task)
        {
            // The process ended; the line may still have been the last one read.
            lock (_gate)
            {
                var late = _stdout.FirstOrDefault(match);
                if (late is not null)
                {
                    return late;
                }
            }

            throw new InvalidOperationException($"The process exited without printing the expected line.\n{Transcript}");
        }

        return await found.Task;
    }

    /// <summary>Waits (bounded) for the process to exit and its output to be read to the end.</summary>
    /// <param name="timeout">The bound; three times <see cref="Loopback.Timeout"/> by default, as for the first line: a child process (a
    /// Python interpreter, a .NET host) starts and runs far slower than in-process code on a busy machine.</param>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        var bound = timeout ?? 3 * Loopback.Timeout;
        try
        {
            await _process.WaitForExitAsync().WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The process did not exit within {bound}.\n{Transcript}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(Loopback.Timeout);
            }
        }
        catch (InvalidOperationException)
        {
            // never started or already gone
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>>? matched = null;
        lock (_gate)
        {
            _stdout.Add(line);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    (matched ??= []).Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (matched is not null)
        {
            foreach (var found in matched)
            {
                found.TrySetResult(line);
            }
        }
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _stderr.AppendLine(line);
        }
    }

    /// <summary>Finds an executable on PATH (null if absent).</summary>
    public static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The dotnet host running the tests (so the CLI runs on the same runtime), else the one on PATH.</summary>
    public static string DotnetHost()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }

        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        return FindOnPath("dotnet") ?? "dotnet";
    }
}
