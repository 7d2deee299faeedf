// A Redis-protocol (RESP2) mini-server: PING, ECHO, SET, GET, DEL and friends, on RxStreams with a custom decoder.
// Run it, then `redis-cli -p <port> SET greeting hello` and `redis-benchmark -p <port> -t ping,set,get -q`.
using System.Net;
using RxStreams;
using RxStreams.Samples;
using RxStreams.Samples.Resp;

var arguments = SampleArguments.Parse(args, "usage: RxStreams.Samples.Resp [--host 127.0.0.1] [--port 0]");
var store = new RespStore();
var server = await Streams.StartServerAsync(arguments.Host, arguments.Port, new ServerOptions { Backlog = 512 });
int port = ((IPEndPoint)server.EndPoints[0]).Port;

// The first line is the port alone, so scripts and tests can find it; then a human hint.
Console.WriteLine(port);
Console.WriteLine($"RESP server on {arguments.Host}:{port}: try `redis-cli -p {port} PING`; Ctrl+C stops");

using (server.Subscribe(connection => RespConnection.Serve(connection, store)))
{
    await SampleArguments.StopRequested();
}

await server.ShutdownAsync(TimeSpan.FromSeconds(5));
