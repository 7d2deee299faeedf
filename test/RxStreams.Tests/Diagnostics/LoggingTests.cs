using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using RxStreams.Tests.Sockets;

namespace RxStreams.Tests.Diagnostics;

/// <summary>Logging through <see cref="ConnectionOptions.LoggerFactory"/>, with a recording logger as the only implementation.</summary>
public sealed class LoggingTests
{
    [Test]
    public async Task Server_LogsServing_AFailedHandler_AndClose()
    {
        var logs = new RecordingLoggerFactory();
        var server = await Streams.StartServerAsync(
            (_, _) => throw new InvalidOperationException("handler bug"),
            "127.0.0.1", 0, new ServerOptions { LoggerFactory = logs });
        await using (Loopback.Guard(server))
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

            // The handler's failure aborts only its connection: the client sees the end, or the reset (which can
            // overtake even the connect's completion, since the handler fails at once).
            var buffer = new byte[16];
            try
            {
                await client.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.Port())).Within();
                Assert.That(await client.ReceiveAsync(buffer).Within(), Is.Zero);
            }
            catch (SocketException reset) when (reset.SocketErrorCode == SocketError.ConnectionReset)
            {
            }

            await WaitFor(logs, 3).Within();
        }

        var events = logs.Entries.ToArray();
        Assert.That(events, Has.Some.Matches<LogEntry>(e => e.Id == 1 && e.Level == LogLevel.Information && e.Message.Contains("127.0.0.1", StringComparison.Ordinal)));
        Assert.That(events, Has.Some.Matches<LogEntry>(e => e.Id == 3 && e.Level == LogLevel.Error && e.Error is InvalidOperationException));
        Assert.That(events, Has.Some.Matches<LogEntry>(e => e.Id == 4 && e.Level == LogLevel.Information));
        Assert.That(events.Select(e => e.Category).Distinct(), Is.EquivalentTo(new[] { "RxStreams.Server" }));
    }

    private static async Task WaitFor(RecordingLoggerFactory logs, int eventId)
    {
        while (!logs.Entries.Any(e => e.Id == eventId))
        {
            await Task.Delay(10);
        }
    }

    private sealed record LogEntry(string Category, LogLevel Level, int Id, string Message, Exception? Error);

    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        public ConcurrentQueue<LogEntry> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new RecordingLogger(this, categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class RecordingLogger(RecordingLoggerFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Enqueue(new LogEntry(category, logLevel, eventId.Id, formatter(state, exception), exception));
        }
    }
}
