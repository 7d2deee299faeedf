namespace RxStreams.Testing;

/// <summary>The settings of a <see cref="SimulatedNetwork"/> as a whole.</summary>
public sealed class SimulationOptions
{
    /// <summary>The settings every pair of hosts starts with (see <see cref="SimulatedNetwork.Link"/>).</summary>
    public LinkSettings DefaultLink { get; set; } = new();

    /// <summary>
    /// What each socket holds on its own side (the in-memory transfer capacity between a connection and the network):
    /// 64 KiB by default. Small values make backpressure show sooner.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int SocketBufferSize
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = InMemoryConnection.DefaultTransferCapacity;

    /// <summary>
    /// How long (virtual time) a connect waits for an answer before it fails with a <see cref="System.Net.Sockets.SocketException"/>
    /// (<see cref="System.Net.Sockets.SocketError.TimedOut"/>), when the connection's own
    /// <see cref="ConnectionOptions.ConnectTimeout"/> is not shorter: 30 s by default. A SYN that meets a partition or a
    /// host that is down is sent again after 1, 2, 4... s, as TCP does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan ConnectTimeout
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            field = value;
        }
    } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long (real time) the network's thread may go without running anything before a run counts as stuck: 30 s by
    /// default. Longer means simulated code blocks that thread (a <c>.Wait()</c>, a <c>.Result</c>, a
    /// <c>Thread.Sleep</c>), and the run (<see cref="SimulatedNetwork.RunFor"/>, <see cref="SimulatedNetwork.RunUntil(TimeSpan)"/>...)
    /// fails with a <see cref="TimeoutException"/> instead of hanging; so does every later run of that network.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan SettleTimeout
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            field = value;
        }
    } = TimeSpan.FromSeconds(30);
}
