namespace RxStreams;

/// <summary>
/// Two connected ends made by <see cref="InMemoryConnection.CreatePair(ConnectionOptions?, int)"/>: what <see cref="Client"/> writes,
/// <see cref="Server"/> reads, and the other way round. <c>var (client, server) = InMemoryConnection.CreatePair();</c>
/// </summary>
public sealed class ConnectionPair : IAsyncDisposable
{
    internal ConnectionPair(StreamConnection client, StreamConnection server)
    {
        Client = client;
        Server = server;
    }

    /// <summary>The end a client would hold (as returned by <see cref="Streams.OpenConnectionAsync(string, int, ConnectionOptions?, CancellationToken)"/>).</summary>
    public StreamConnection Client { get; }

    /// <summary>The end a server would hold (as delivered by a <see cref="StreamServer"/>).</summary>
    public StreamConnection Server { get; }

    /// <summary>Gives both ends to a deconstruction.</summary>
    /// <param name="client">The client end.</param>
    /// <param name="server">The server end.</param>
    public void Deconstruct(out StreamConnection client, out StreamConnection server)
    {
        client = Client;
        server = Server;
    }

    /// <summary>Closes both ends gracefully (see <see cref="StreamConnection.DisposeAsync"/>). Idempotent; never throws.</summary>
    /// <returns>A task that completes when both ends are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
    }
}
