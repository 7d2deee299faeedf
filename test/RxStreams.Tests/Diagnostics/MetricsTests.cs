using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using RxStreams.Diagnostics;
using RxStreams.Framing;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Diagnostics;

/// <summary>The RxStreams meter read the way a user's telemetry would read it: with a <see cref="MeterListener"/>.</summary>
[NonParallelizable] // the meter is process-wide: keep other socket tests out of the measured window
public sealed class MetricsTests
{
    [Test]
    public async Task Meter_CountsConnectionsBytesFramesAndOverruns_OverARealServer()
    {
        using var recorder = new MeasurementRecorder();
        await using var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Limit = 16 });
        await using var guard = Loopback.Guard(server); // a failed assertion must fail the test, not hang its teardown
        var handled = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Subscribe(connection => connection.Reader.Lines(limit: 16).Subscribe(
            line => connection.Writer.Write(line),
            error =>
            {
                handled.TrySetResult(error);
                connection.Abort();
            },
            () =>
            {
                handled.TrySetResult(null);
                connection.Writer.Close();
            }));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync("127.0.0.1", server.Port()).Within();
        byte[] lines = Loopback.Bytes("one\ntwo\nthree\n");
        await client.SendAsync(lines).Within();
        var echoed = new byte[lines.Length];
        int got = 0;
        while (got < echoed.Length)
        {
            int n = await client.ReceiveAsync(echoed.AsMemory(got)).Within();
            Assert.That(n, Is.GreaterThan(0), "the server closed before echoing");
            got += n;
        }

        Assert.That(recorder.Sum(RxStreamsMetrics.OpenedConnections), Is.GreaterThanOrEqualTo(1), "the accepted connection");
        Assert.That(recorder.Sum(RxStreamsMetrics.ActiveConnections), Is.GreaterThanOrEqualTo(1), "open while we talk");
        Assert.That(recorder.Tags(RxStreamsMetrics.OpenedConnections, "network.transport"), Does.Contain("tcp"));
        Assert.That(recorder.Sum(RxStreamsMetrics.BytesReceived), Is.GreaterThanOrEqualTo(lines.Length));

        // The server counts what it sent once the send completes, and frames once per chunk after emitting them: the
        // echo can reach us before either is recorded, so wait for them (bounded) rather than race the server's thread.
        await WaitUntil(() => recorder.Sum(RxStreamsMetrics.BytesSent) >= lines.Length);
        await WaitUntil(() => recorder.Sum(RxStreamsMetrics.Frames) >= 3);

        // A line over the limit: the overrun is counted and the connection ends.
        long activeBefore = recorder.Sum(RxStreamsMetrics.ActiveConnections);
        await client.SendAsync(Loopback.Bytes(new string('x', 40) + "\n")).Within();
        Assert.That(await handled.Task.Within(), Is.InstanceOf<LimitOverrunException>());
        Assert.That(recorder.Sum(RxStreamsMetrics.LimitOverruns), Is.GreaterThanOrEqualTo(1));
        await WaitUntil(() => recorder.Sum(RxStreamsMetrics.ActiveConnections) < activeBefore);
        await WaitUntil(() => recorder.Count(RxStreamsMetrics.ConnectionDuration) >= 1); // recorded just after the -1
    }

    [Test]
    public void Meter_IsNamedForOpenTelemetry_AndPublishesEveryInstrument()
    {
        var names = new ConcurrentBag<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == RxStreamsMetrics.MeterName)
            {
                names.Add(instrument.Name);
            }
        };
        listener.Start();

        Assert.That(names, Is.SupersetOf(new[]
        {
            RxStreamsMetrics.ActiveConnections, RxStreamsMetrics.OpenedConnections, RxStreamsMetrics.ConnectionDuration,
            RxStreamsMetrics.BytesReceived, RxStreamsMetrics.BytesSent, RxStreamsMetrics.Frames,
            RxStreamsMetrics.LimitOverruns, RxStreamsMetrics.TlsHandshakeDuration, RxStreamsMetrics.AcceptErrors,
        }));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the condition never held");
            await Task.Delay(10);
        }
    }

    /// <summary>Sums every RxStreams measurement by instrument, as an OpenTelemetry exporter would aggregate them.</summary>
    private sealed class MeasurementRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _sums = new();
        private readonly ConcurrentDictionary<string, int> _counts = new();
        private readonly ConcurrentDictionary<string, ConcurrentBag<string>> _tags = new();

        public MeasurementRecorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RxStreamsMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Record(instrument, 0, tags));
            _listener.Start();
        }

        public long Sum(string instrument) => _sums.GetValueOrDefault(instrument);

        public int Count(string instrument) => _counts.GetValueOrDefault(instrument);

        public IEnumerable<string> Tags(string instrument, string key) =>
            _tags.GetValueOrDefault(instrument)?.Where(t => t.StartsWith(key + "=", StringComparison.Ordinal)).Select(t => t[(key.Length + 1)..]) ?? [];

        public void Dispose() => _listener.Dispose();

        private void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            _counts.AddOrUpdate(instrument.Name, 1, (_, count) => count + 1);
            var bag = _tags.GetOrAdd(instrument.Name, _ => []);
            foreach (var tag in tags)
            {
                bag.Add($"{tag.Key}={tag.Value}");
            }
        }
    }
}
