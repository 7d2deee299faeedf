using System.Net.Sockets;

namespace RxStreams.Testing;

// Faults: partitions and heals, resets, crashed and restarted hosts, random faults; the type's docs are in SimulatedNetwork.cs.
public sealed partial class SimulatedNetwork
{
    /// <summary>Cuts the path between two hosts: nothing crosses it (what is in flight waits) until <see cref="Heal"/>.</summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    public void Partition(string hostA, string hostB)
    {
        ArgumentNullException.ThrowIfNull(hostA);
        ArgumentNullException.ThrowIfNull(hostB);
        lock (_gate)
        {
            if (_partitions.Add(Pair(hostA, hostB)))
            {
                RecordLocked($"partition {Pair(hostA, hostB).Item1}|{Pair(hostA, hostB).Item2}");
            }
        }
    }

    /// <summary>Restores the path between two hosts; what waited is sent again.</summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    public void Heal(string hostA, string hostB)
    {
        ArgumentNullException.ThrowIfNull(hostA);
        ArgumentNullException.ThrowIfNull(hostB);
        lock (_gate)
        {
            if (!_partitions.Remove(Pair(hostA, hostB)))
            {
                return;
            }

            RecordLocked($"heal {Pair(hostA, hostB).Item1}|{Pair(hostA, hostB).Item2}");
        }

        UnblockAll();
    }

    /// <summary>Restores every path cut by <see cref="Partition"/>.</summary>
    public void HealAll()
    {
        foreach (var (a, b) in Partitions())
        {
            Heal(a, b);
        }
    }

    /// <summary>Whether the path between two hosts is cut.</summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    /// <returns>True between <see cref="Partition"/> and <see cref="Heal"/>.</returns>
    public bool IsPartitioned(string hostA, string hostB)
    {
        lock (_gate)
        {
            return _partitions.Contains(Pair(hostA, hostB));
        }
    }

    /// <summary>
    /// Resets every open connection between two hosts at once (a middlebox's RST both ways): each side's reader fails with
    /// a <see cref="SocketError.ConnectionReset"/> <see cref="IOException"/>, what was in flight is lost, and a connect
    /// still waiting for its answer fails.
    /// </summary>
    /// <param name="hostA">One host's name.</param>
    /// <param name="hostB">The other's.</param>
    public void Reset(string hostA, string hostB)
    {
        var a = Host(hostA);
        var b = Host(hostB);
        foreach (var connection in LiveConnections().Where(c => c.Between(a, b)))
        {
            Record($"{connection} reset by the network");
            connection.Request.Completion.TrySetException(Wrap(SocketError.ConnectionReset));
            foreach (var end in new[] { connection.Client, connection.Server })
            {
                end.Terminated = true;
                end.Nic.Abort();
            }

            connection.ToServer.Discard();
            connection.ToClient.Discard();
        }
    }

    /// <summary>
    /// Schedules <see cref="RandomFaults.Count"/> faults at times drawn from the seed between <see cref="RandomFaults.From"/>
    /// and <see cref="RandomFaults.Until"/>; each picks, when it strikes, among the hosts that exist then.
    /// </summary>
    /// <param name="faults">Which kinds of faults, how many, when and how long.</param>
    public void InjectRandomFaults(RandomFaults faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        var kinds = new List<int>();
        if (faults.Partitions)
        {
            kinds.Add(0);
        }

        if (faults.Resets)
        {
            kinds.Add(1);
        }

        if (faults.Refusals)
        {
            kinds.Add(2);
        }

        if (faults.Crashes)
        {
            kinds.Add(3);
        }

        if (kinds.Count == 0)
        {
            return;
        }

        long span = Math.Max(1, faults.Until.Ticks - faults.From.Ticks);
        for (int i = 0; i < faults.Count; i++)
        {
            long at = faults.From.Ticks + _random.NextLong(span);
            int kind = kinds[(int)_random.NextLong(kinds.Count)];
            long duration = 1 + _random.NextLong(Math.Max(1, faults.MaxDuration.Ticks));
            ScheduleAt(at, () => StrikeRandomFault(kind, duration));
        }
    }

    internal void Crash(SimulatedHost host)
    {
        if (!host.IsUp)
        {
            return;
        }

        host.IsUp = false;
        Record($"{host.Name} crashed");
        foreach (var connection in LiveConnections().Where(c => c.Touches(host)))
        {
            foreach (var (end, outgoing) in new[] { (connection.Client, connection.ToServer), (connection.Server, connection.ToClient) })
            {
                if (end.Host != host)
                {
                    continue;
                }

                end.Vanished = true;
                end.Terminated = true;
                end.Nic.Abort(); // the application on the crashed host loses its connection at once
                outgoing.Discard(); // and nothing of it ever leaves
                if (end == connection.Client)
                {
                    connection.Request.Completion.TrySetException(Wrap(SocketError.ConnectionAborted));
                }
            }
        }
    }

    internal void Restart(SimulatedHost host)
    {
        if (host.IsUp)
        {
            return;
        }

        host.IsUp = true;
        Record($"{host.Name} restarted");
        UnblockAll();
    }

    private (string, string)[] Partitions()
    {
        lock (_gate)
        {
            return _partitions.Order().ToArray();
        }
    }

    private void UnblockAll()
    {
        long now = Clock;
        foreach (var connection in LiveConnections())
        {
            connection.ToServer.Unblock(now);
            connection.ToClient.Unblock(now);
        }
    }

    private void StrikeRandomFault(int kind, long duration)
    {
        SimulatedHost[] hosts;
        lock (_gate)
        {
            hosts = _hosts.Values.ToArray(); // sorted by name
        }

        if (hosts.Length == 0 || (kind < 2 && hosts.Length < 2))
        {
            return;
        }

        var a = hosts[_random.NextLong(hosts.Length)];
        var others = hosts.Where(h => h != a).ToArray();
        switch (kind)
        {
            case 0:
                var b = others[_random.NextLong(others.Length)];
                Partition(a.Name, b.Name);
                ScheduleAt(Clock + duration, () => Heal(a.Name, b.Name));
                break;
            case 1:
                Reset(a.Name, others[_random.NextLong(others.Length)].Name);
                break;
            case 2:
                a.RefusesConnections = true;
                ScheduleAt(Clock + duration, () => a.RefusesConnections = false);
                break;
            default:
                a.Crash();
                ScheduleAt(Clock + duration, a.Restart);
                break;
        }
    }
}
