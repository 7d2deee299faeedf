namespace RxStreams;

// Happy Eyeballs for a client connecting to a host with several addresses (asyncio's happy_eyeballs_delay and
// interleave, RFC 8305). The type's docs are in ConnectionOptions.cs.
public partial class ConnectionOptions
{
    private TimeSpan? _happyEyeballsDelay;
    private int? _interleave;

    /// <summary>
    /// asyncio's <c>happy_eyeballs_delay</c> (RFC 8305, which recommends 250 ms): when a host resolves to several
    /// addresses, the next address is tried once this delay has passed without the attempts before it connecting (or at
    /// once when one fails), the attempts racing side by side; the first to connect wins and the others are cancelled
    /// and closed. <see langword="null"/> (the default) tries one address after another, each until it fails. Clients
    /// only; the delay runs on <see cref="Scheduler"/>, and <see cref="ConnectTimeout"/> still bounds the whole race.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan? HappyEyeballsDelay
    {
        get => _happyEyeballsDelay;
        set
        {
            if (value is { } delay && delay < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(HappyEyeballsDelay), delay, "The Happy Eyeballs delay must not be negative; use null to try addresses one after another.");
            }

            _happyEyeballsDelay = value;
        }
    }

    /// <summary>
    /// Resolves a host name to its addresses in the resolver's order; <see langword="null"/> (always, outside tests) for
    /// <see cref="System.Net.Dns.GetHostAddressesAsync(string, CancellationToken)"/>. A test seam, so that a multi-address
    /// host can be tested through the public connect path on any machine, whatever its hosts file says.
    /// </summary>
    internal Func<string, CancellationToken, Task<System.Net.IPAddress[]>>? Resolver { get; set; }

    /// <summary>
    /// asyncio's <c>interleave</c>: reorders a host's addresses so the address families alternate (IPv6, IPv4, IPv6, ...,
    /// starting with the family the resolver listed first), after taking this many addresses of the first family.
    /// <see langword="null"/> (the default) means 1 when <see cref="HappyEyeballsDelay"/> is set and no reordering
    /// otherwise, as in asyncio; 0 keeps the resolver's order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int? Interleave
    {
        get => _interleave;
        set
        {
            if (value is < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(Interleave), value, "Interleave must not be negative; 0 keeps the resolver's order.");
            }

            _interleave = value;
        }
    }
}
