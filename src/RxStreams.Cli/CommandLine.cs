using System.CommandLine;
using System.Runtime.InteropServices;
using RxStreams.Cli.Commands;

namespace RxStreams.Cli;

/// <summary>
/// Parses the command line with System.CommandLine and runs a command. Exit codes: 0 done (a server stopped by Ctrl+C or
/// SIGTERM included), 1 a runtime failure (one line on standard error), 2 a usage error (the errors, then the command's
/// help, on standard error).
/// </summary>
internal static class CommandLine
{
    /// <summary>Runs <paramref name="args"/> on the process's console, with <paramref name="output"/> and <paramref name="error"/> for text.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        RunAsync(args, CliConsole.ForProcess(output, error));

    /// <summary>Runs <paramref name="args"/> on <paramref name="console"/>.</summary>
    public static async Task<int> RunAsync(string[] args, CliConsole console)
    {
        var root = RootCommandFactory.Create(console);
        // No response files: '@name' stays a MESSAGE (as before), not "read the arguments from file 'name'".
        var parsed = root.Parse(args is ["help", .. var rest] ? [.. rest, "--help"] : args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            // System.CommandLine's own report (errors, 'did you mean', the command's help), all on standard error.
            parsed.Invoke(new InvocationConfiguration { Output = console.Error, Error = console.Error });
            return 2;
        }

        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancelKey = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancelKey;

        // SIGTERM (kill, service managers) stops as gracefully as Ctrl+C: servers close, Unix socket files go. Our own
        // handlers rather than System.CommandLine's (ProcessTerminationTimeout), which would end the process after a grace
        // period with exit code 130 instead of letting a server finish its shutdown and exit 0.
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        try
        {
            var invocation = new InvocationConfiguration
            {
                Output = console.Output,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            };
            return await parsed.InvokeAsync(invocation, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception failure)
        {
            console.Error.WriteLine($"rxstreams: {Describe(failure)}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancelKey;
        }
    }

    /// <summary>One line for a failure: the innermost useful message ('Connection refused', not 'One or more errors occurred').</summary>
    private static string Describe(Exception failure)
    {
        while (failure is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            failure = aggregate.InnerExceptions[0];
        }

        return failure.Message.ReplaceLineEndings(" ");
    }
}
