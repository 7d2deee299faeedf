using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace RxStreams.Hosting;

// Where a hosted server listens: safe defaults. The type's docs are in RxStreamsHostedServer.cs.
public sealed partial class RxStreamsHostedServer
{
    private static readonly string[] IPv4Loopback = ["127.0.0.1"];
    private static readonly string[] BothLoopbacks = ["127.0.0.1", "::1"];

    /// <summary>
    /// Binds what <paramref name="settings"/> ask for: the Unix path; or <see cref="RxStreamsServerOptions.Port"/> on
    /// <see cref="RxStreamsServerOptions.Hosts"/>, on every interface for <c>"*"</c>, or on loopback when Hosts is empty.
    /// Without a port or a path the section was missing or misnamed: refused, naming the key.
    /// </summary>
    private async Task<StreamServer> ListenAsync(RxStreamsServerOptions settings, ServerOptions serverOptions, CancellationToken cancellationToken)
    {
        if (settings.UnixPath is { } path)
        {
            return await Streams.StartUnixServerAsync(path, serverOptions, cancellationToken).ConfigureAwait(false);
        }

        int port = settings.Port ?? throw MissingPort();
        if (settings.Hosts is [RxStreamsServerOptions.EveryInterface])
        {
            return await Streams.StartServerAsync([], port, serverOptions, cancellationToken).ConfigureAwait(false);
        }

        if (settings.Hosts.Count > 0)
        {
            return await Streams.StartServerAsync(settings.Hosts, port, serverOptions, cancellationToken).ConfigureAwait(false);
        }

        // Loopback, as Kestrel's "localhost": 127.0.0.1 and ::1. A free port (0) is 127.0.0.1 alone, since each socket
        // would get its own port; and a machine whose IPv6 loopback is off (a container, a sysctl) gets 127.0.0.1 alone.
        if (port != 0 && Socket.OSSupportsIPv6)
        {
            try
            {
                return await Streams.StartServerAsync(BothLoopbacks, port, serverOptions, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException error) when (error.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported)
            {
                LogNoIPv6Loopback(_logger, _name, error.Message);
            }
        }

        return await Streams.StartServerAsync(IPv4Loopback, port, serverOptions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The refusal to start without a port: names the server, the key, and whether its section exists at all.</summary>
    private InvalidOperationException MissingPort()
    {
        string section = (_configuration as IConfigurationSection)?.Path ?? string.Empty;
        string key = section.Length == 0 ? "Port" : section + ":Port";
        string why = _configuration is IConfigurationSection { } bound && !bound.Exists()
            ? $"the configuration section '{section}' is missing or misnamed"
            : $"the configuration key '{key}' is missing";
        return new InvalidOperationException(
            $"RxStreams server '{_name}' has no Port and no UnixPath: {why}. Set '{key}' (0 for a free port) or UnixPath; " +
            $"it listens on loopback unless Hosts names addresses (\"{RxStreamsServerOptions.EveryInterface}\" for every interface).");
    }

    [LoggerMessage(4, LogLevel.Warning, "RxStreams server '{Name}': no IPv6 loopback ({Reason}); listening on 127.0.0.1 only")]
    private static partial void LogNoIPv6Loopback(ILogger logger, string name, string reason);
}
