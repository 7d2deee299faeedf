namespace RxStreams.Testing;

/// <summary>
/// Faults a <see cref="SimulatedNetwork"/> injects at times drawn from its seed (see
/// <see cref="SimulatedNetwork.InjectRandomFaults"/>): each one picks a pair of hosts, or a host, among those that exist
/// when it strikes.
/// </summary>
public sealed class RandomFaults
{
    /// <summary>How many faults to inject: 5 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int Count
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    } = 5;

    /// <summary>The virtual time from which faults may strike: zero by default.</summary>
    public TimeSpan From { get; set; }

    /// <summary>The virtual time until which faults may strike: 60 s by default.</summary>
    public TimeSpan Until { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest a partition, a refusal window or a crash lasts: 5 s by default.</summary>
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether to cut pairs of hosts apart for a while (<see cref="SimulatedNetwork.Partition"/>, then <see cref="SimulatedNetwork.Heal"/>): yes by default.</summary>
    public bool Partitions { get; set; } = true;

    /// <summary>Whether to reset the connections between a pair of hosts (<see cref="SimulatedNetwork.Reset"/>): yes by default.</summary>
    public bool Resets { get; set; } = true;

    /// <summary>Whether to make a host refuse connects for a while (<see cref="SimulatedHost.RefusesConnections"/>): yes by default.</summary>
    public bool Refusals { get; set; } = true;

    /// <summary>Whether to crash a host and restart it later (<see cref="SimulatedHost.Crash"/>, <see cref="SimulatedHost.Restart"/>): no by default.</summary>
    public bool Crashes { get; set; }
}
