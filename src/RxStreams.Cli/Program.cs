using RxStreams.Cli;

// rxstreams: the seed's examples and small network tools built on RxStreams. Exit codes: 0 ok, 1 runtime error, 2 usage.
return await CommandLine.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
