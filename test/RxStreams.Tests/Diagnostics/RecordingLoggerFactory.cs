using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RxStreams.Tests.Diagnostics;

/// <summary>One log call as a logger saw it, message formatted.</summary>
internal sealed record RecordedLog(string Category, LogLevel Level, int Id, string Message, Exception? Error);

/// <summary>A logger factory that records every event at every level: the test double for <see cref="ConnectionOptions.LoggerFactory"/>.</summary>
internal sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<RecordedLog> _entries = new();
    private readonly SemaphoreSlim _logged = new(0);

    public IReadOnlyCollection<RecordedLog> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new RecordingLogger(this, categoryName);

    /// <summary>Waits (bounded by the caller) until an entry matches.</summary>
    public async Task<RecordedLog> WaitForAsync(Func<RecordedLog, bool> match)
    {
        while (true)
        {
            if (_entries.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await _logged.WaitAsync();
        }
    }

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

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            owner._entries.Enqueue(new RecordedLog(category, logLevel, eventId.Id, formatter(state, exception), exception));
            owner._logged.Release();
        }
    }
}
