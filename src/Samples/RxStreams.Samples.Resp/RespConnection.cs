using System.Reactive.Linq;
using RxStreams.Framing;

namespace RxStreams.Samples.Resp;

/// <summary>One client, LINQ style: decode requests with <see cref="RespDecoder"/>, execute each, reply in order.</summary>
internal static class RespConnection
{
    public static IDisposable Serve(StreamConnection connection, RespStore store)
    {
        var writer = connection.Writer;
        return connection.Reader
            .Decode(static () => new RespDecoder())
            .TakeWhile(command => store.Execute(command, writer)) // replies are written inside the read loop: one send per chunk
            .Subscribe(
                static _ => { },
                error =>
                {
                    // A protocol error or a refused length: tell the client, as Redis does, then close.
                    if (error is InvalidDataException or LimitOverrunException)
                    {
                        writer.WriteError("ERR " + error.Message);
                        connection.Dispose();
                    }
                    else
                    {
                        connection.Abort();
                    }
                },
                connection.Dispose); // EOF or QUIT: close once the replies are sent
    }
}
