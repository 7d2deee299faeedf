using System.Reactive.Linq;
using System.Text;
using RxStreams.Framing;

namespace RxStreams.Cli;

/// <summary>The two programs of the seed page (asyncio's TCP echo client and server), written with RxStreams.</summary>
internal static class SeedExamples
{
    /// <summary>The seed's <c>tcp_echo_client</c>: connect, send, read up to 100 bytes, close.</summary>
    public static Task TcpEchoClientAsync(string message, string host, int port, TextWriter output, CancellationToken cancellationToken) =>
        EchoClientAsync(message, Streams.OpenConnectionAsync(host, port, cancellationToken: cancellationToken), output, cancellationToken);

    /// <summary>The seed's client over any connection (TCP or Unix).</summary>
    public static async Task EchoClientAsync(string message, Task<StreamConnection> connecting, TextWriter output, CancellationToken cancellationToken)
    {
        var (reader, writer) = await connecting.ConfigureAwait(false);

        output.WriteLine($"Send: {PythonFormat.Repr(message)}");
        writer.Write(Encoding.UTF8.GetBytes(message));

        var data = await reader.ReadAsync(100, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"Received: {PythonFormat.Repr(PythonFormat.Decode(data))}");

        output.WriteLine("Close the connection");
        writer.Close();
        await writer.WaitClosedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The seed's <c>handle_echo</c>: read up to 100 bytes, echo them, close.</summary>
    public static Func<ConnectionReader, ConnectionWriter, Task> HandleEcho(TextWriter output) => async (reader, writer) =>
    {
        var data = await reader.ReadAsync(100).ConfigureAwait(false);
        string message = PythonFormat.Decode(data);
        string address = PythonFormat.Address(writer.GetExtraInfo("peername") as System.Net.EndPoint);

        output.WriteLine($"Received {PythonFormat.Repr(message)} from {address}");

        output.WriteLine($"Send: {PythonFormat.Repr(message)}");
        writer.Write(data);
        await writer.DrainAsync().ConfigureAwait(false);

        output.WriteLine("Close the connection");
        writer.Close();
    };

    /// <summary>
    /// A line echo server the Rx way: every connection's lines go straight back to it. Batching (one send per received
    /// chunk) and backpressure (a slow reader stops our reading) come from the library, not from this code.
    /// </summary>
    public static IDisposable ServeLineEcho(StreamServer server) =>
        server.Subscribe(connection => connection.Reader.Lines(connection.Reader.Limit).Subscribe(connection.Writer));
}
