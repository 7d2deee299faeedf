// A line chat server: every line a client sends goes to every other client, with its nickname.
// Run it, then talk with `nc 127.0.0.1 <port>` from two terminals.
using System.Net;
using RxStreams;
using RxStreams.Samples;
using RxStreams.Samples.Chat;

var arguments = SampleArguments.Parse(args, "usage: RxStreams.Samples.Chat [--host 127.0.0.1] [--port 0]");
var room = new ChatRoom();
var server = await Streams.StartServerAsync(arguments.Host, arguments.Port, ChatRoom.CreateServerOptions());
int port = ((IPEndPoint)server.EndPoints[0]).Port;

// The first line is the port alone, so scripts and tests can find it; then a human hint.
Console.WriteLine(port);
Console.WriteLine($"chat on {arguments.Host}:{port}: try `nc {arguments.Host} {port}`; Ctrl+C stops");

using (server.Subscribe(room.Join))
{
    await SampleArguments.StopRequested();
}

// Say goodbye: every client is told, then closed; whoever is still there after 5 s is reset.
room.Announce("* the server is shutting down");
server.CloseClients();
await server.ShutdownAsync(TimeSpan.FromSeconds(5));
