using System.Globalization;

namespace RxStreams.Samples;

/// <summary>The samples' tiny command line: <c>--host H</c> (127.0.0.1) and <c>--port N</c> (0 = a free port).</summary>
internal sealed record SampleArguments(string Host, int Port)
{
    public static SampleArguments Parse(string[] args, string usage)
    {
        string host = "127.0.0.1";
        int port = 0;
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--host" when value is not null:
                    host = value;
                    i++;
                    break;
                case "--port" when value is not null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535:
                    i++;
                    break;
                default:
                    Console.Error.WriteLine(usage);
                    Environment.Exit(2);
                    break;
            }
        }

        return new SampleArguments(host, port);
    }

    /// <summary>Completes on Ctrl+C or SIGTERM, so the sample can shut down gracefully.</summary>
    public static Task StopRequested()
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        var registration = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.TrySetResult();
        });
        _ = stop.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        return stop.Task;
    }
}
