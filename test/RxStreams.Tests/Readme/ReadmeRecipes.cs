using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Reactive.Threading.Tasks;
using RxStreams.Framing;

namespace RxStreams.Tests.Readme;

/// <summary>The LINQ recipes of the README, verbatim, so that the README's code compiles and is tested.</summary>
internal static class ReadmeRecipes
{
    // --- README: echo ---
    public static IDisposable Echo(IObservable<StreamConnection> server) =>
        server.Subscribe(connection => connection.Reader.Lines().Subscribe(connection.Writer));

    // --- README: line chat with a broadcast subject ---
    public static IDisposable Chat(IObservable<StreamConnection> server)
    {
        var room = Subject.Synchronize(new Subject<(StreamConnection From, string Text)>());
        return server.Subscribe(connection =>
        {
            // Out: what the others say, until this connection closes.
            room.Where(message => message.From != connection)
                .TakeUntil(connection.Closed.ToObservable())
                .Subscribe(message => TryWriteLine(connection.Writer, message.Text));

            // In: every line, tagged with its sender; EOF or an error ends this member only.
            connection.Reader.LinesText()
                .Select(line => (connection, line))
                .Subscribe(room.OnNext, _ => connection.Abort(), connection.Dispose);
        });
    }

    private static void TryWriteLine(ConnectionWriter writer, string line)
    {
        try
        {
            writer.WriteLine(line);
        }
        catch (Exception error) when (error is IOException or InvalidOperationException)
        {
            // That member is gone (or over its MaxWriteBufferSize): the others must not notice.
        }
    }

    // --- README: request/response with a timeout ---
    public sealed class LineClient : IDisposable
    {
        private readonly ConnectionWriter _writer;
        private readonly IConnectableObservable<string> _replies;
        private readonly IDisposable _reading;
        private readonly IScheduler _scheduler;

        public LineClient(StreamConnection connection, IScheduler scheduler)
        {
            _writer = connection.Writer;
            _scheduler = scheduler;
            _replies = connection.Reader.LinesText().Publish(); // one reader subscription, shared by every request
            _reading = _replies.Connect();
        }

        /// <summary>Sends one line and returns the next line received, or throws <see cref="TimeoutException"/>.</summary>
        public Task<string> AskAsync(string request, TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            var reply = _replies.FirstAsync().Timeout(timeout, _scheduler).ToTask(cancellationToken); // listen first
            _writer.WriteLine(request);
            return reply;
        }

        public void Dispose() => _reading.Dispose();
    }
}
