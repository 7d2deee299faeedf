using System.Diagnostics;
using System.Diagnostics.Metrics;
using NUnit.Framework;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using RxStreams.Diagnostics;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Diagnostics;

/// <summary>
/// Metrics a dashboard reads well: bucket advice per histogram, the server's address and port on its connections,
/// and flow-control telemetry (backpressure pauses, write-buffer overflows). Read through OpenTelemetry's SDK with the
/// in-memory exporter, as a user would; counts are eventually consistent, so every check waits (bounded) for them.
/// </summary>
[NonParallelizable] // the meter is process-wide
public sealed class DashboardMetricsTests
{
    [Test]
    public async Task Histograms_CarryBucketAdvice_SuitedToWhatTheyMeasure()
    {
        await InMemoryConnection.CreatePair().DisposeAsync(); // the instruments exist once a connection was counted
        var advice = new Dictionary<string, IReadOnlyList<double>?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == RxStreamsMetrics.MeterName && instrument is Histogram<double> histogram)
            {
                lock (advice)
                {
                    advice[instrument.Name] = histogram.Advice?.HistogramBucketBoundaries;
                }
            }
        };
        listener.Start();

        Assert.That(advice.Keys, Is.SupersetOf(new[] { RxStreamsMetrics.ConnectionDuration, RxStreamsMetrics.TlsHandshakeDuration, RxStreamsMetrics.ReaderPausedDuration }));
        Assert.That(advice[RxStreamsMetrics.ConnectionDuration], Is.Not.Null.And.Ordered.And.Contains(0.01).And.Contains(3600.0), "seconds, 10 ms to an hour");
        Assert.That(advice[RxStreamsMetrics.TlsHandshakeDuration], Is.Not.Null.And.Ordered.And.Contains(0.001).And.Contains(10.0), "seconds, resolving milliseconds");
        Assert.That(advice[RxStreamsMetrics.ReaderPausedDuration], Is.Not.Null.And.Ordered);
    }

    [Test]
    public async Task ServerConnections_CarryServerAddressAndPort_ClientConnectionsDoNot_DurationsUseTheAdvisedBuckets()
    {
        var metrics = new List<Metric>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(RxStreamsMetrics.MeterName).AddInMemoryExporter(metrics).Build();
        await using var server = await Streams.StartServerAsync(static (_, writer) => { writer.Write(Loopback.Bytes("hi\n")); return Task.CompletedTask; }, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        int port = server.Port();
        await using (var client = await Streams.OpenConnectionAsync("127.0.0.1", port).Within())
        {
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("hi\n"));
            Assert.That((await client.Reader.ReadAsync(-1).Within()).Length, Is.Zero);
        }

        // The server's connection: opened with its address and port; its duration recorded (after the close) in the advised buckets.
        await WaitUntil(provider, metrics, () => Points(metrics, RxStreamsMetrics.ConnectionDuration).Any(p => HasTag(p, "server.port", port)));
        var opened = Points(metrics, RxStreamsMetrics.OpenedConnections);
        Assert.That(opened.Where(p => HasTag(p, "server.port", port) && HasTag(p, "server.address", "127.0.0.1") && HasTag(p, "network.transport", "tcp")), Is.Not.Empty);
        Assert.That(opened.Where(p => HasTag(p, "network.transport", "tcp") && Tag(p, "server.port") is null), Is.Not.Empty, "the client's connection: network.transport alone");

        var duration = Points(metrics, RxStreamsMetrics.ConnectionDuration).First(p => HasTag(p, "server.port", port));
        var bounds = new List<double>();
        foreach (var bucket in duration.GetHistogramBuckets())
        {
            bounds.Add(bucket.ExplicitBound);
        }

        Assert.That(bounds, Does.Contain(0.01).And.Contain(3600.0), "OpenTelemetry's SDK took the advice, not its 0..10000 default");
    }

    [Test]
    public async Task ReaderPausedByBackpressure_AndWriteBufferOverflows_AreMeasured()
    {
        var metrics = new List<Metric>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(RxStreamsMetrics.MeterName).AddInMemoryExporter(metrics).Build();

        // An echo whose peer does not read: the echoing side's writer passes its high-water mark, its read loop pauses
        // until the peer reads, and that pause is recorded once the writer drains.
        await using (var pair = InMemoryConnection.CreatePair(new ConnectionOptions { HighWaterMark = 4096 }, transferCapacity: 4096))
        {
            using var echo = pair.Server.Reader.Subscribe(pair.Server.Writer);
            var payload = new byte[256 * 1024];
            pair.Client.Writer.Write(payload);
            pair.Client.Writer.WriteEof();

            // Nothing is read until the echo's writer is above its high-water mark, so its read loop really pauses
            // (a client reading at once could keep the writer below the mark, and nothing would be paused to measure).
            var paused = System.Diagnostics.Stopwatch.StartNew();
            while (!pair.Server.Writer.IsPaused && paused.Elapsed < Loopback.Timeout)
            {
                await Task.Delay(5);
            }

            Assert.That(pair.Server.Writer.IsPaused, Is.True, "the echo's writer passed its high-water mark");
            long received = 0;
            while (received < payload.Length)
            {
                var chunk = await pair.Client.Reader.ReadAsync(64 * 1024).Within();
                Assert.That(chunk.Length, Is.GreaterThan(0), "the echo ended early");
                received += chunk.Length;
            }
        }

        await WaitUntil(provider, metrics, () => Points(metrics, RxStreamsMetrics.ReaderPausedDuration).Any(p => p.GetHistogramCount() > 0));

        // A writer whose cap is reached: the refused write is counted, tagged with what the policy did.
        await using (var pair = InMemoryConnection.CreatePair(
            new ConnectionOptions { HighWaterMark = 1024, MaxWriteBufferSize = 1024, WriteBufferOverflow = WriteBufferOverflowPolicy.RejectWrite }, transferCapacity: 1024))
        {
            var refused = Assert.Throws<WriteBufferOverflowException>(() =>
            {
                for (int i = 0; i < 100; i++)
                {
                    pair.Server.Writer.Write(new byte[512]); // the peer never reads: the buffer fills within a few writes
                }
            });
            Assert.That(refused, Is.Not.Null);
        }

        await WaitUntil(provider, metrics, () => Points(metrics, RxStreamsMetrics.WriteBufferOverflows).Any(p => HasTag(p, "rxstreams.overflow.policy", "reject_write") && p.GetSumLong() >= 1));
    }

    private static List<MetricPoint> Points(List<Metric> metrics, string name)
    {
        Metric[] snapshot;
        lock (metrics)
        {
            snapshot = [.. metrics.Where(m => m.Name == name)];
        }

        var points = new List<MetricPoint>();
        foreach (var metric in snapshot)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                points.Add(point);
            }
        }

        return points;
    }

    private static object? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value;
            }
        }

        return null;
    }

    private static bool HasTag(MetricPoint point, string key, object value) => Equals(Tag(point, key), value);

    /// <summary>Collects (the exporter keeps cumulative points) until <paramref name="condition"/> holds, bounded.</summary>
    private static async Task WaitUntil(MeterProvider provider, List<Metric> metrics, Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            lock (metrics)
            {
                metrics.Clear();
            }

            provider.ForceFlush();
            if (condition())
            {
                return;
            }

            Assert.That(deadline.Elapsed, Is.LessThan(Loopback.Timeout), "the measurement never arrived");
            await Task.Delay(10);
        }
    }
}
