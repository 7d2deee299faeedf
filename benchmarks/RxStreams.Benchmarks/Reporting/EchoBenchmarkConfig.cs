using BenchmarkDotNet.Configs;

namespace RxStreams.Benchmarks.Reporting;

/// <summary>The end-to-end benchmarks' columns: rate, time and server CPU per operation of the load shape.</summary>
internal sealed class EchoBenchmarkConfig : ManualConfig
{
    public EchoBenchmarkConfig() =>
        AddColumn(EchoOperationColumn.Rate, EchoOperationColumn.TimePerOperation, EchoOperationColumn.ServerCpuPerOperation);
}
