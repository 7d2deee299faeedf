using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RxStreams.Benchmarks.Reporting;

/// <summary>
/// A per-operation figure of an end-to-end benchmark. The five server methods are declared once, in
/// <see cref="EchoServerBenchmarks"/>, so they cannot carry a shape's <c>OperationsPerInvoke</c>: one invocation is one
/// run of the shape, and these columns divide by the shape's operations per run (lines, round trips, MB, connections).
/// </summary>
internal sealed class EchoOperationColumn : IColumn
{
    private readonly Kind _kind;

    private EchoOperationColumn(Kind kind) => _kind = kind;

    private enum Kind
    {
        Rate,
        TimePerOperation,
        ServerCpuPerOperation,
    }

    /// <summary>Operations per second (Mean over the shape's operations per run).</summary>
    public static IColumn Rate { get; } = new EchoOperationColumn(Kind.Rate);

    /// <summary>Wall-clock time per operation.</summary>
    public static IColumn TimePerOperation { get; } = new EchoOperationColumn(Kind.TimePerOperation);

    /// <summary>The server process's CPU time (user + system) per operation, over every invocation of the case.</summary>
    public static IColumn ServerCpuPerOperation { get; } = new EchoOperationColumn(Kind.ServerCpuPerOperation);

    public string Id => $"{nameof(EchoOperationColumn)}.{_kind}";

    public string ColumnName => _kind switch
    {
        Kind.Rate => "Rate",
        Kind.TimePerOperation => "Time/op",
        _ => "Server CPU/op",
    };

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => (int)_kind;

    public bool IsNumeric => false;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => _kind switch
    {
        Kind.Rate => "Operations per second: the shape's operations per run over Mean (MB are 10^6 bytes)",
        Kind.TimePerOperation => "Mean time per operation (line, round trip, MB or connection)",
        _ => "Server process CPU time (user + system) per operation, over all of the case's invocations (pilot and warm-up included); NA when the servers run in-process",
    };

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var shape = EchoServerBenchmarks.ShapeOf(benchmarkCase.Descriptor.Type);
        if (_kind == Kind.ServerCpuPerOperation)
        {
            var seconds = ServerCpuRecords.SecondsPerOperation(benchmarkCase.Descriptor.Type, benchmarkCase.Descriptor.WorkloadMethod.Name);
            return seconds is { } s ? $"{FormatTime(s * 1e9)}/{shape.Unit}" : "NA";
        }

        var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (mean is not > 0)
        {
            return "NA";
        }

        var nanosecondsPerOperation = mean.Value / shape.OperationsPerRun;
        return _kind == Kind.Rate
            ? string.Create(CultureInfo.InvariantCulture, $"{1e9 / nanosecondsPerOperation:N0} {shape.Unit}/s")
            : $"{FormatTime(nanosecondsPerOperation)}/{shape.Unit}";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    private static string FormatTime(double nanoseconds) => nanoseconds switch
    {
        >= 1e6 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e6:F3} ms"),
        >= 1e3 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e3:F3} us"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds:F1} ns"),
    };
}
