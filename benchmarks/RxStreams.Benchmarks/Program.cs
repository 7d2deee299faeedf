using BenchmarkDotNet.Running;
using RxStreams.Benchmarks;

// --smoke: check every server and client without BenchmarkDotNet (see SmokeTest); --serve / --load: one side of the
// line echo as its own process, for profiling (see Standalone); anything else goes to the switcher.
if (args.Contains("--smoke"))
{
    return await SmokeTest.RunAsync(Console.Out);
}

if (args.FirstOrDefault() == "--serve")
{
    return await Standalone.ServeAsync(args, Console.Out);
}

if (args.FirstOrDefault() == "--framing")
{
    return Standalone.FramingLoop(args, Console.Out);
}

if (args.FirstOrDefault() == "--connect-load")
{
    return await Standalone.ConnectLoadAsync(args, Console.Out);
}

if (args.FirstOrDefault() == "--load")
{
    return await Standalone.LoadAsync(args, Console.Out);
}

// The echo benchmarks start their servers as child processes of this assembly as built (see ChildProcessEchoServer).
Environment.SetEnvironmentVariable(RxStreams.Benchmarks.Baselines.ChildProcessEchoServer.AssemblyVariable, typeof(Program).Assembly.Location);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
