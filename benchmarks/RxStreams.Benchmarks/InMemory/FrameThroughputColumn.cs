using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RxStreams.Benchmarks.InMemory;

/// <summary>Adds <see cref="FrameThroughputColumn"/> to the framing benchmarks.</summary>
internal sealed class FramingConfig : ManualConfig
{
    public FramingConfig() => AddColumn(new FrameThroughputColumn());
}

/// <summary>
/// Input bytes framed per second: the benchmark's <c>FrameSize</c> parameter divided by its mean time per frame
/// (the framing benchmarks run one frame per operation).
/// </summary>
internal sealed class FrameThroughputColumn : IColumn
{
    public string Id => nameof(FrameThroughputColumn);

    public string ColumnName => "MB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Input framed per second (FrameSize / Mean), in 10^6 bytes";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (mean is not > 0 || benchmarkCase.Parameters["FrameSize"] is not int frameSize)
        {
            return "NA";
        }

        // bytes per nanosecond = GB/s; times 1000 = MB/s.
        return (frameSize / mean.Value * 1000).ToString("N0", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
