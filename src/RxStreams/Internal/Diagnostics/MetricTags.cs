using System.Collections.Concurrent;
using System.Net;

namespace RxStreams.Internal;

/// <summary>
/// Tag arrays of the connection instruments, made once and shared: a client's connections differ only by
/// <c>network.transport</c>, and a server's by the local end they were accepted on, so a connection stores a reference
/// instead of building tags when it opens and again when it closes.
/// </summary>
internal static class MetricTags
{
    // Bounded: a process that starts many short-lived servers on free ports must not grow this without end.
    private const int MaxCachedServers = 256;

    private static readonly KeyValuePair<string, object?>[] Tcp = [new("network.transport", "tcp")];
    private static readonly KeyValuePair<string, object?>[] Unix = [new("network.transport", "unix")];
    private static readonly KeyValuePair<string, object?>[] Memory = [new("network.transport", "memory")];
    private static readonly ConcurrentDictionary<(string Transport, EndPoint Local), KeyValuePair<string, object?>[]> ServerTags = new();

    /// <summary><c>network.transport</c> alone.</summary>
    public static KeyValuePair<string, object?>[] Client(string transport) => transport switch
    {
        "tcp" => Tcp,
        "unix" => Unix,
        "memory" => Memory,
        _ => [new("network.transport", transport)],
    };

    /// <summary><c>network.transport</c>, <c>server.address</c> and, over TCP, <c>server.port</c> of the local end <paramref name="local"/>.</summary>
    public static KeyValuePair<string, object?>[] Server(string transport, EndPoint? local)
    {
        if (local is null)
        {
            return Client(transport);
        }

        if (ServerTags.TryGetValue((transport, local), out var cached))
        {
            return cached;
        }

        KeyValuePair<string, object?>[] tags = local is IPEndPoint ip
            ? [new("network.transport", transport), new("server.address", ip.Address.ToString()), new("server.port", ip.Port)]
            : [new("network.transport", transport), new("server.address", local.ToString())];
        if (ServerTags.Count < MaxCachedServers)
        {
            ServerTags.TryAdd((transport, local), tags);
        }

        return tags;
    }
}
