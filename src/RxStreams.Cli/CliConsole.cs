using System.Reactive.Concurrency;
using Microsoft.Win32.SafeHandles;

namespace RxStreams.Cli;

/// <summary>
/// What a command reads from and writes to: the process's standard streams, or (in tests) writers and streams of the
/// caller's. Text (the seed's transcript, help, errors) goes through <see cref="Output"/> and <see cref="Error"/>; raw
/// bytes (what <c>connect</c> and <c>send --file</c> receive) go to <see cref="OpenRawOutput"/>.
/// </summary>
internal sealed class CliConsole
{
    /// <summary>Standard output for text.</summary>
    public required TextWriter Output { get; init; }

    /// <summary>Standard error: usage errors, runtime failures, the progress display.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Opens standard input for <c>connect</c>, with its length when it is a regular file.</summary>
    public required Func<SizedStream> OpenInput { get; init; }

    /// <summary>Opens standard output for raw bytes.</summary>
    public required Func<Stream> OpenRawOutput { get; init; }

    /// <summary>Whether standard error is a terminal (then the progress display is on by default, redrawn in place).</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>The clock of the progress display (docs/contract.md, guarantee 7 "Time is a scheduler"); the default scheduler outside tests.</summary>
    public IScheduler Scheduler { get; init; } = DefaultScheduler.Instance;

    /// <summary>The process's own console, with <paramref name="output"/> and <paramref name="error"/> for text.</summary>
    public static CliConsole ForProcess(TextWriter output, TextWriter error) => new()
    {
        Output = output,
        Error = error,
        OpenInput = OpenStandardInput,
        OpenRawOutput = Console.OpenStandardOutput,
        ErrorIsTerminal = !Console.IsErrorRedirected,
    };

    /// <summary>
    /// Standard input; when it is a regular file (<c>&lt; big.iso</c>) its remaining length is known, so the progress
    /// display can show a percentage. Pipes and terminals have no length.
    /// </summary>
    private static SizedStream OpenStandardInput()
    {
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                var file = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);
                if (file.CanSeek)
                {
                    return new SizedStream(file, file.Length - file.Position);
                }

                file.Dispose();
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // Not a file descriptor FileStream accepts (a closed stdin, say): the console stream below copes.
            }
        }

        return new SizedStream(Console.OpenStandardInput(), null);
    }
}

/// <summary>A stream to send, with the number of bytes it holds when that is known.</summary>
internal sealed record SizedStream(Stream Stream, long? Length);
