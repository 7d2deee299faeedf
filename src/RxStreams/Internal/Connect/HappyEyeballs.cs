using System.Net;
using System.Net.Sockets;
using System.Reactive.Concurrency;

namespace RxStreams.Internal.Connect;

/// <summary>
/// Connects a TCP socket to one of a host's addresses: asyncio's <c>create_connection</c> walk, and with
/// <see cref="ConnectionOptions.HappyEyeballsDelay"/> its staggered race (RFC 8305, asyncio's <c>staggered_race</c>).
/// </summary>
/// <remarks>
/// <para>
/// One algorithm covers both: an attempt starts when the one before it fails or, with a delay, when the delay passes
/// first; the first attempt to connect wins. Without a delay that is the plain walk, one address after another.
/// </para>
/// <para>
/// Losers leak nothing: when one attempt wins (or the walk is cancelled), every other attempt is cancelled and awaited,
/// and a socket that connected anyway in that moment is closed, before the winner is returned.
/// </para>
/// </remarks>
internal static class HappyEyeballs
{
    /// <summary>Connects to the first of <paramref name="addresses"/> that answers, in the order the options ask for.</summary>
    /// <returns>The connected socket; the caller owns it.</returns>
    /// <exception cref="SocketException">Every address failed alike (the first failure).</exception>
    /// <exception cref="AggregateException">Addresses failed differently (asyncio's 'Multiple exceptions: ...').</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the connect deadline, or the caller).</exception>
    public static async Task<Socket> ConnectAsync(IReadOnlyList<IPAddress> addresses, int port, ConnectionOptions options, CancellationToken cancellationToken)
    {
        var ordered = Order(addresses, options);
        var failures = new Exception?[ordered.Count];
        var running = new List<Attempt>();
        using var race = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Socket? winner = null;
        Exception? fatal = null;
        int next = 0;
        try
        {
            while (winner is null && fatal is null)
            {
                if (next < ordered.Count)
                {
                    running.Add(Attempt.Start(next, ordered[next], port, options, race.Token));
                    next++;
                }

                if (running.Count == 0)
                {
                    break; // every address failed
                }

                using var stagger = next < ordered.Count && options.HappyEyeballsDelay is { } delay
                    ? new StaggerTimer(options.Scheduler, delay)
                    : null;
                while (true)
                {
                    var finished = await Task.WhenAny(Waits(running, stagger)).ConfigureAwait(false);
                    if (stagger is not null && finished == stagger.Task)
                    {
                        break; // the delay passed first: start the next address beside the running ones
                    }

                    var attempt = running.Find(a => a.Task == finished)!;
                    running.Remove(attempt);
                    if (attempt.Task.IsCompletedSuccessfully)
                    {
                        winner = attempt.Task.Result;
                    }
                    else if (cancellationToken.IsCancellationRequested)
                    {
                        fatal = new OperationCanceledException(cancellationToken); // the deadline or the caller: not this address's fault
                    }
                    else if (attempt.Task.Exception?.InnerException is SocketException failure)
                    {
                        failures[attempt.Index] = failure; // RFC 8305: a failure starts the next attempt at once
                    }
                    else
                    {
                        fatal = attempt.Task.Exception?.InnerException ?? new OperationCanceledException(cancellationToken);
                    }

                    break;
                }
            }
        }
        finally
        {
            await CloseLosersAsync(race, running).ConfigureAwait(false);
        }

        if (winner is not null)
        {
            return winner;
        }

        if (fatal is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fatal);
        }

        throw Combine([.. failures.OfType<SocketException>()]);
    }

    /// <summary>
    /// asyncio's <c>_interleave_addrinfos</c>: groups the addresses by family in the order the families first appear,
    /// takes <paramref name="firstFamilyCount"/> − 1 more from the first family, then alternates between families.
    /// </summary>
    /// <param name="addresses">The resolver's order.</param>
    /// <param name="firstFamilyCount">asyncio's <c>interleave</c>; 0 keeps the resolver's order.</param>
    /// <returns>The reordered addresses.</returns>
    public static IReadOnlyList<IPAddress> Interleave(IReadOnlyList<IPAddress> addresses, int firstFamilyCount)
    {
        if (firstFamilyCount <= 0)
        {
            return addresses;
        }

        var families = new List<Queue<IPAddress>>();
        foreach (var address in addresses)
        {
            var family = families.Find(f => f.Peek().AddressFamily == address.AddressFamily);
            if (family is null)
            {
                families.Add(family = new Queue<IPAddress>());
            }

            family.Enqueue(address);
        }

        var reordered = new List<IPAddress>(addresses.Count);
        for (int i = 1; i < firstFamilyCount && families.Count > 0 && families[0].Count > 1; i++)
        {
            reordered.Add(families[0].Dequeue());
        }

        while (reordered.Count < addresses.Count)
        {
            foreach (var family in families)
            {
                if (family.TryDequeue(out var address))
                {
                    reordered.Add(address);
                }
            }
        }

        return reordered;
    }

    /// <summary>The order to try: interleaved by family when <see cref="ConnectionOptions.Interleave"/> asks (by default, with Happy Eyeballs).</summary>
    private static IReadOnlyList<IPAddress> Order(IReadOnlyList<IPAddress> addresses, ConnectionOptions options)
    {
        int interleave = options.Interleave ?? (options.HappyEyeballsDelay is null ? 0 : 1);
        return Interleave(addresses, interleave);
    }

    private static IEnumerable<Task> Waits(List<Attempt> running, StaggerTimer? stagger)
    {
        foreach (var attempt in running)
        {
            yield return attempt.Task;
        }

        if (stagger is not null)
        {
            yield return stagger.Task;
        }
    }

    /// <summary>Cancels the attempts still running and waits for them; one that connected in the meantime is closed.</summary>
    private static async Task CloseLosersAsync(CancellationTokenSource race, List<Attempt> running)
    {
        if (running.Count == 0)
        {
            return;
        }

        await race.CancelAsync().ConfigureAwait(false);
        foreach (var attempt in running)
        {
            try
            {
                var connected = await attempt.Task.ConfigureAwait(false);
                connected.Dispose();
            }
            catch (Exception error) when (error is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // The attempt released its own socket; its failure does not matter once another attempt decided the race.
            }
        }
    }

    /// <summary>asyncio: one failure (or several alike) raises the first; different ones are reported together.</summary>
    private static Exception Combine(SocketException[] failures)
    {
        if (failures.Select(static f => f.SocketErrorCode).Distinct().Count() == 1)
        {
            return failures[0];
        }

        return new AggregateException($"Multiple exceptions: {string.Join(", ", failures.Select(static f => f.Message))}", failures);
    }

    /// <summary>One address's connect: its own socket, released if the connect does not succeed.</summary>
    private sealed class Attempt
    {
        private Attempt(int index, Task<Socket> task)
        {
            Index = index;
            Task = task;
        }

        public int Index { get; }

        public Task<Socket> Task { get; }

        public static Attempt Start(int index, IPAddress address, int port, ConnectionOptions options, CancellationToken cancellationToken) =>
            new(index, ConnectOneAsync(address, port, options, cancellationToken));

        private static async Task<Socket> ConnectOneAsync(IPAddress address, int port, ConnectionOptions options, CancellationToken cancellationToken)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                Streams.ApplyTcpOptions(socket, options);
                if (options.LocalEndPoint is { } local)
                {
                    socket.Bind(local);
                }

                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    /// <summary>The delay before the next attempt starts, on the options' scheduler (so virtual time can drive it).</summary>
    private sealed class StaggerTimer : IDisposable
    {
        private readonly TaskCompletionSource _passed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly IDisposable _timer;

        public StaggerTimer(IScheduler scheduler, TimeSpan delay)
        {
            _timer = scheduler.Schedule(_passed, delay, static (_, passed) =>
            {
                passed.TrySetResult();
                return System.Reactive.Disposables.Disposable.Empty;
            });
        }

        public Task Task => _passed.Task;

        public void Dispose() => _timer.Dispose();
    }
}
