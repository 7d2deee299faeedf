namespace RxStreams.Testing.Simulation;

/// <summary>A connection between two hosts: its two ends and its two directions.</summary>
internal sealed class SimulatedConnection
{
    public SimulatedConnection(SimulatedNetwork network, int id, SimEnd client, SimEnd server, ConnectRequest request)
    {
        Id = id;
        Client = client;
        Server = server;
        Request = request;
        ToServer = new LinkDirection(network, this, client, server, 0);
        ToClient = new LinkDirection(network, this, server, client, 1);
        ToServer.Reverse = ToClient;
        ToClient.Reverse = ToServer;
    }

    public int Id { get; }

    public SimEnd Client { get; }

    public SimEnd Server { get; }

    public ConnectRequest Request { get; }

    public LinkDirection ToServer { get; }

    public LinkDirection ToClient { get; }

    public bool IsDone => ToServer.Finished && ToClient.Finished;

    public bool Touches(SimulatedHost host) => Client.Host == host || Server.Host == host;

    public bool Between(SimulatedHost a, SimulatedHost b) =>
        (Client.Host == a && Server.Host == b) || (Client.Host == b && Server.Host == a);

    public override string ToString() => "conn" + Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
