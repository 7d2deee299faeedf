using System.Net.Sockets;
using System.Text;

namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// The "typical user" baseline: <see cref="NetworkStream"/> wrapped in a <see cref="StreamReader"/> and a
/// <see cref="StreamWriter"/>, one <c>ReadLineAsync</c> and one flush per line. The reader hides whether
/// more lines are already buffered, so a user cannot batch flushes; that per-line send (and the string
/// per line) is exactly the cost this baseline exists to show. Bulk mode is a plain <c>Stream.CopyToAsync</c>.
/// </summary>
internal sealed class NetworkStreamLineEchoServer : IEchoServer
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private readonly SocketAcceptLoop _acceptLoop;

    public NetworkStreamLineEchoServer(EchoMode mode)
    {
        _acceptLoop = SocketAcceptLoop.Start(mode == EchoMode.Bulk ? EchoBulkAsync : EchoLinesAsync);
    }

    public int Port => _acceptLoop.Port;

    public static Task<IEchoServer> StartAsync(EchoMode mode) => Task.FromResult<IEchoServer>(new NetworkStreamLineEchoServer(mode));

    private static async Task EchoLinesAsync(Socket socket, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        // Default buffer sizes, as a typical user leaves them; '\n' is set explicitly so the wire format
        // does not depend on the platform's Environment.NewLine.
        using var reader = new StreamReader(stream, Utf8NoBom, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        await using var writer = new StreamWriter(stream, Utf8NoBom, leaveOpen: true) { AutoFlush = false, NewLine = "\n" };

        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            await writer.WriteLineAsync(line.AsMemory(), cancellationToken);
            await writer.FlushAsync(cancellationToken);
        }
    }

    private static async Task EchoBulkAsync(Socket socket, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.CopyToAsync(stream, cancellationToken);
    }

    public ValueTask DisposeAsync() => _acceptLoop.DisposeAsync();
}
