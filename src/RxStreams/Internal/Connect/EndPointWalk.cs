using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;

namespace RxStreams.Internal.Connect;

/// <summary>One connect attempt over several endpoints: each is tried in order and the first that connects is used.</summary>
internal static class EndPointWalk
{
    /// <summary>Throws unless every endpoint is a kind the client can connect to.</summary>
    public static EndPoint[] Check(IEnumerable<EndPoint> endPoints, string parameterName)
    {
        EndPoint[] checkedEndPoints = [.. endPoints];
        if (checkedEndPoints.Length == 0)
        {
            throw new ArgumentException("At least one endpoint is needed.", parameterName);
        }

        foreach (var endPoint in checkedEndPoints)
        {
            if (endPoint is not (IPEndPoint or DnsEndPoint or UnixDomainSocketEndPoint))
            {
                throw new ArgumentException($"Cannot connect to a {endPoint?.GetType().Name ?? "null"} endpoint: give IPEndPoint, DnsEndPoint or UnixDomainSocketEndPoint.", parameterName);
            }
        }

        return checkedEndPoints;
    }

    /// <summary>Opens a connection to the first endpoint that accepts one.</summary>
    /// <exception cref="Exception">The only failure, or the first of several alike; an <see cref="AggregateException"/> of differing ones.
    /// An error that is not transient (<see cref="ReconnectPolicy.IsTransient"/>) ends the walk at once.</exception>
    public static async Task<StreamConnection> OpenAsync(EndPoint[] endPoints, ConnectionOptions options, CancellationToken cancellationToken)
    {
        var failures = new List<Exception>();
        foreach (var endPoint in endPoints)
        {
            try
            {
                return await OpenOneAsync(endPoint, options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (ReconnectPolicy.IsTransient(error) && !cancellationToken.IsCancellationRequested)
            {
                failures.Add(error); // the next endpoint may answer
            }
        }

        if (failures.Count == 1 || failures.All(f => Alike(f, failures[0])))
        {
            ExceptionDispatchInfo.Throw(failures[0]);
        }

        throw new AggregateException($"Every endpoint failed: {string.Join(", ", failures.Select(static f => f.Message))}", failures);
    }

    private static Task<StreamConnection> OpenOneAsync(EndPoint endPoint, ConnectionOptions options, CancellationToken cancellationToken) => endPoint switch
    {
        IPEndPoint ip => Streams.OpenConnectionAsync(ip.Address.ToString(), ip.Port, options, cancellationToken),
        DnsEndPoint dns => Streams.OpenConnectionAsync(dns.Host, dns.Port, options, cancellationToken),
        _ => Streams.OpenUnixConnectionAsync(endPoint.ToString()!, options, cancellationToken),
    };

    private static bool Alike(Exception a, Exception b) =>
        a.GetType() == b.GetType() && (a is not SocketException sa || sa.SocketErrorCode == ((SocketException)b).SocketErrorCode);
}
