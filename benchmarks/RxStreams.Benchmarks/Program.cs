using BenchmarkDotNet.Running;
using RxStreams.Benchmarks;

// --smoke: check every server and client without BenchmarkDotNet (see SmokeTest); anything else goes to the switcher.
if (args.Contains("--smoke"))
{
    return await SmokeTest.RunAsync(Console.Out);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
