using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Net;
using NUnit.Framework;
using OpenTelemetry;
using OpenTelemetry.Trace;
using RxStreams.Diagnostics;
using RxStreams.Framing;
using RxStreams.Tests.Sockets;
using RxStreams.Tests.Tls;

namespace RxStreams.Tests.Diagnostics;

/// <summary>
/// The RxStreams activity source read the way a user's telemetry reads it: OpenTelemetry's SDK with its in-memory
/// exporter. Spans of other tests running meanwhile are told apart by the server's port.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class TracingTests
{
    [Test]
    public async Task AcceptedAndConnected_PlainTcp_SpansWithNetworkAttributes()
    {
        var spans = new LockedList<Activity>();
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(RxStreamsTracing.ActivitySourceName).AddInMemoryExporter(spans).Build();
        await using var server = await Streams.StartServerAsync(static async (reader, writer) =>
        {
            await foreach (var line in reader.ReadLinesAsync())
            {
                writer.Write(line);
            }
        }, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        int port = server.Port();

        await using (var client = await Streams.OpenConnectionAsync("127.0.0.1", port).Within())
        {
            client.Writer.WriteLine("traced");
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("traced\n"));
            client.Writer.WriteEof();
            Assert.That((await client.Reader.ReadAsync(-1).Within()).Length, Is.Zero);
        }

        // Spans end on the threads that close the connections: wait for them (bounded), never assume they are there.
        var serverConnection = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connection && s.Kind == ActivityKind.Server && Has(s, "server.port", port));
        var accept = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Accept && s.ParentSpanId == serverConnection.SpanId);
        var connect = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connect && Has(s, "server.port", port));
        var clientConnection = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connection && s.Kind == ActivityKind.Client && Has(s, "server.port", port));

        Assert.That(serverConnection.ParentSpanId, Is.EqualTo(default(ActivitySpanId)), "an accepted connection is a root span");
        Assert.That(serverConnection.Status, Is.EqualTo(ActivityStatusCode.Unset));
        Assert.That(Tag(serverConnection, "network.transport"), Is.EqualTo("tcp"));
        Assert.That(Tag(serverConnection, "network.type"), Is.EqualTo("ipv4"));
        Assert.That(Tag(serverConnection, "server.address"), Is.EqualTo("127.0.0.1"));
        Assert.That(Tag(serverConnection, "network.local.port"), Is.EqualTo(port));
        Assert.That(Tag(serverConnection, "network.peer.address"), Is.EqualTo("127.0.0.1"));
        Assert.That(Tag(serverConnection, "client.port"), Is.EqualTo(Tag(clientConnection, "network.local.port")), "the client's port, seen from both ends");
        Assert.That(accept.TraceId, Is.EqualTo(serverConnection.TraceId));

        Assert.That(connect.Kind, Is.EqualTo(ActivityKind.Client));
        Assert.That(Tag(connect, "server.address"), Is.EqualTo("127.0.0.1"));
        Assert.That(Tag(connect, "network.peer.port"), Is.EqualTo(port));
        Assert.That(Tag(clientConnection, "network.transport"), Is.EqualTo("tcp"));
        Assert.That(clientConnection.StartTimeUtc, Is.GreaterThanOrEqualTo(connect.StartTimeUtc));
    }

    [Test]
    public async Task ProxyHeaderThenTls_AreChildrenOfTheAccept_WithTheClientAndTlsAttributes()
    {
        var spans = new LockedList<Activity>();
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(RxStreamsTracing.ActivitySourceName).AddInMemoryExporter(spans).Build();
        var options = new ServerOptions { ProxyProtocol = ProxyProtocolMode.Required, Tls = TestCertificates.ServerOptions() };
        await using var server = await Streams.StartServerAsync(static async (reader, writer) =>
        {
            await foreach (var line in reader.ReadLinesAsync())
            {
                writer.Write(line);
            }
        }, "127.0.0.1", 0, options);
        await using var guard = Loopback.Guard(server);
        int port = server.Port();

        await using (var client = await Streams.OpenConnectionAsync("127.0.0.1", port).Within())
        {
            client.Writer.Write(Loopback.Bytes($"PROXY TCP4 203.0.113.7 127.0.0.1 5555 {port}\r\n"));
            await client.Writer.StartTlsAsync(TestCertificates.TrustingClient()).Within(); // STARTTLS after the header
            client.Writer.WriteLine("secret");
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("secret\n"));
        }

        var connection = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connection && s.Kind == ActivityKind.Server && Has(s, "server.port", port));
        var accept = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Accept && s.ParentSpanId == connection.SpanId);
        var proxy = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.ProxyHeader && s.ParentSpanId == accept.SpanId);
        var handshake = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.TlsHandshake && s.ParentSpanId == accept.SpanId);

        Assert.That(Tag(proxy, "client.address"), Is.EqualTo("203.0.113.7"));
        Assert.That(Tag(proxy, "client.port"), Is.EqualTo(5555));
        Assert.That(Tag(connection, "client.address"), Is.EqualTo("203.0.113.7"), "the connection's client is the one the header names");
        Assert.That(Tag(connection, "network.peer.address"), Is.EqualTo("127.0.0.1"), "the peer is the proxy");
        Assert.That(proxy.EndTimeUtc(), Is.LessThanOrEqualTo(handshake.StartTimeUtc), "the header precedes the ClientHello");
        Assert.That(Tag(handshake, "tls.established"), Is.EqualTo(true));
        Assert.That(Tag(handshake, "tls.protocol.name"), Is.EqualTo("tls"));
        Assert.That(Tag(handshake, "tls.protocol.version"), Is.EqualTo("1.2").Or.EqualTo("1.3"));
        Assert.That(Tag(handshake, "tls.cipher"), Is.Not.Null.And.Not.Empty);
        Assert.That(handshake.Status, Is.EqualTo(ActivityStatusCode.Unset));
    }

    [Test]
    public async Task FailedHandshake_MarksTheHandshakeAcceptAndConnectionSpansAsErrors()
    {
        var spans = new LockedList<Activity>();
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(RxStreamsTracing.ActivitySourceName).AddInMemoryExporter(spans).Build();
        await using var server = await Streams.StartServerAsync(static (_, _) => Task.CompletedTask, "127.0.0.1", 0, new ServerOptions { Tls = TestCertificates.ServerOptions() });
        await using var guard = Loopback.Guard(server);
        using var errors = server.Errors.Subscribe(_ => { }); // a failed handshake is reported there; nothing to check
        int port = server.Port();

        using (var plain = await Loopback.ConnectRawAsync(server.EndPoints[0]))
        {
            await plain.SendAllAsync("GET / HTTP/1.0\r\n\r\n"); // not a ClientHello
            try
            {
                await plain.ReceiveToEndAsync().Within();
            }
            catch (System.Net.Sockets.SocketException)
            {
                // reset: expected as well
            }
        }

        var connection = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connection && s.Kind == ActivityKind.Server && Has(s, "server.port", port));
        var accept = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Accept && s.ParentSpanId == connection.SpanId);
        var handshake = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.TlsHandshake && s.ParentSpanId == accept.SpanId);

        Assert.That(handshake.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(Tag(handshake, "error.type"), Is.Not.Null);
        Assert.That(accept.Status, Is.EqualTo(ActivityStatusCode.Error), "never handed over");
        Assert.That(connection.Status, Is.EqualTo(ActivityStatusCode.Error), "ended by the handshake's error");
    }

    [Test]
    public async Task FailedConnect_IsAnErrorSpan_NamingTheSocketError()
    {
        var spans = new LockedList<Activity>();
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(RxStreamsTracing.ActivitySourceName).AddInMemoryExporter(spans).Build();
        int port;
        using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never listening: connecting is refused
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            Assert.ThrowsAsync<System.Net.Sockets.SocketException>(async () => await Streams.OpenConnectionAsync("127.0.0.1", port).Within());
        }

        var connect = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connect && Has(s, "server.port", port));
        Assert.That(connect.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(Tag(connect, "error.type"), Is.EqualTo("ConnectionRefused"));
        Assert.That(spans.Snapshot().Where(s => s.OperationName == RxStreamsTracing.Connection && Has(s, "server.port", port)), Is.Empty, "no connection, no lifetime span");
    }

    [Test]
    public async Task TheCallersActivity_ParentsTheConnect_AndStaysCurrent()
    {
        using var mine = new ActivitySource("RxStreams.Tests.Caller");
        var spans = new LockedList<Activity>();
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(mine.Name, RxStreamsTracing.ActivitySourceName).AddInMemoryExporter(spans).Build();
        await using var server = await Streams.StartServerAsync(static (_, writer) => { writer.WriteLine("hi"); return Task.CompletedTask; }, "127.0.0.1", 0);
        await using var guard = Loopback.Guard(server);
        int port = server.Port();

        using (var caller = mine.StartActivity("caller"))
        {
            Assert.That(caller, Is.Not.Null);
            await using var client = await Streams.OpenConnectionAsync("127.0.0.1", port).Within();
            Assert.That(Loopback.Text(await client.Reader.ReadLineAsync().Within()), Is.EqualTo("hi\n"));
            Assert.That(Activity.Current, Is.SameAs(caller), "connecting neither replaced nor ended the caller's activity");

            var connect = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connect && Has(s, "server.port", port));
            Assert.That(connect.ParentSpanId, Is.EqualTo(caller!.SpanId));
        }

        var serverConnection = await WaitForSpan(spans, s => s.OperationName == RxStreamsTracing.Connection && s.Kind == ActivityKind.Server && Has(s, "server.port", port));
        Assert.That(serverConnection.ParentSpanId, Is.EqualTo(default(ActivitySpanId)), "the server's span is not the client's child, even in one process");
    }

    private static object? Tag(Activity activity, string key) => activity.GetTagItem(key);

    private static bool Has(Activity activity, string key, object value) => Equals(activity.GetTagItem(key), value);

    private static async Task<Activity> WaitForSpan(LockedList<Activity> spans, Func<Activity, bool> match)
    {
        var deadline = DateTime.UtcNow + Loopback.Timeout;
        while (true)
        {
            var found = spans.Snapshot().FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), () => "no such span among: " + string.Join(", ", spans.Snapshot().Select(s => s.OperationName)));
            await Task.Delay(10);
        }
    }

    /// <summary>The exporter's list: spans end on many threads, and the test reads it meanwhile.</summary>
    private sealed class LockedList<T> : Collection<T>
    {
        private readonly Lock _gate = new();

        public T[] Snapshot()
        {
            lock (_gate)
            {
                return [.. Items];
            }
        }

        protected override void InsertItem(int index, T item)
        {
            lock (_gate)
            {
                base.InsertItem(index, item);
            }
        }
    }
}

/// <summary>Activity helpers for the assertions.</summary>
internal static class ActivityTimes
{
    public static DateTime EndTimeUtc(this Activity activity) => activity.StartTimeUtc + activity.Duration;
}
