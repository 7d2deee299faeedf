using BenchmarkDotNet.Running;
using RxStreams.Benchmarks;
using RxStreams.Benchmarks.Baselines;
using RxStreams.Benchmarks.Reporting;

// --smoke: check every server and client without BenchmarkDotNet (see SmokeTest); --serve / --load / --shape: one side
// of an echo as its own process, for profiling and benchmarks/scripts (see Standalone); anything else goes to the switcher.
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

if (args.FirstOrDefault() == "--shape")
{
    return await Standalone.ShapeLoadAsync(args, Console.Out);
}

// The echo benchmarks start their servers as child processes of this assembly as built (see ChildProcessEchoServer),
// and leave each server's CPU time where this process's summary reads it (see ServerCpuRecords).
Environment.SetEnvironmentVariable(ChildProcessEchoServer.AssemblyVariable, typeof(Program).Assembly.Location);
var serverCpu = Directory.CreateTempSubdirectory("rxstreams-bench-cpu-");
Environment.SetEnvironmentVariable(ServerCpuRecords.DirectoryVariable, serverCpu.FullName);
try
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
finally
{
    serverCpu.Delete(recursive: true);
}

return 0;
