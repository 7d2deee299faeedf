using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using RxStreams.Diagnostics;
using RxStreams.Internal;

namespace RxStreams.Tests.Diagnostics;

/// <summary>
/// A failed accept is counted with the listening end's tags, like every other server instrument, so a dashboard can
/// tell which of a process's servers is short of descriptors. (A real accept failure cannot be provoked on demand in
/// process; the recording is driven directly for a bound listener.)
/// </summary>
public sealed class AcceptErrorMetricTests
{
    [Test]
    public void AcceptError_IsTaggedWithTheListeningAddressPortAndTheErrorCode()
    {
        var recorded = new ConcurrentBag<Dictionary<string, object?>>();
        using var meterListener = new MeterListener();
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RxStreamsMetrics.MeterName && instrument.Name == RxStreamsMetrics.AcceptErrors)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            recorded.Add(tags.ToArray().ToDictionary(static tag => tag.Key, static tag => tag.Value)));
        meterListener.Start();

        var listeners = Listener.BindTcp([IPAddress.Loopback], 0, new ServerOptions());
        try
        {
            var local = (IPEndPoint)listeners[0].EndPoint;
            Metrics.AcceptError(new SocketException((int)SocketError.TooManyOpenSockets), listeners[0]);

            var mine = recorded.Where(tags => Equals(tags.GetValueOrDefault("server.port"), local.Port)).ToArray();
            Assert.That(mine, Has.Length.EqualTo(1), "one measurement for this listener");
            Assert.That(mine[0]["server.address"], Is.EqualTo("127.0.0.1"));
            Assert.That(mine[0]["network.transport"], Is.EqualTo("tcp"));
            Assert.That(mine[0]["error.type"], Is.EqualTo(nameof(SocketError.TooManyOpenSockets)));
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }
}
