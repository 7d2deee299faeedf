using Microsoft.Extensions.Logging;

namespace RxStreams.Hosting;

/// <summary>
/// The host's logger factory as a hosted server hands it to the library: the same categories and structured state, with
/// each formatted message prefixed by the server's name, so that several hosted servers' logs tell which one spoke.
/// </summary>
/// <remarks>It does not own the host's factory: disposing it disposes nothing.</remarks>
internal sealed class ServerNamedLoggerFactory(ILoggerFactory inner, string name) : ILoggerFactory
{
    private readonly string _prefix = $"RxStreams server '{name}': ";

    public ILogger CreateLogger(string categoryName) => new NamedLogger(inner.CreateLogger(categoryName), _prefix);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
    }

    private sealed class NamedLogger(ILogger inner, string prefix) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, (s, e) => prefix + formatter(s, e));
    }
}
