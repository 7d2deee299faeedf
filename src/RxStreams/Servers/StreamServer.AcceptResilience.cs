using System.Collections.Concurrent;
using System.Net.Sockets;
using RxStreams.Internal;

namespace RxStreams;

// Accept loops that survive running out of descriptors and whatever their error reports do.
// An accept that fails for want of descriptors or buffers (EMFILE, ENFILE, ENOBUFS, ENOMEM) is retried after a pause
// that doubles from 10 ms to at most 1 s, not at once: a hot retry spins a core and logs without end while the
// shortage lasts. Each episode is logged and reported on Errors once, when it starts, and logged again
// when accepting works again. The default ServerOptions.MaxConnections keeps a server below the
// descriptor limit in the first place.
// Every accept loop is tracked: WaitClosedAsync, DisposeAsync and
// ShutdownAsync complete only after the loops have ended, and a loop that ends by an error nobody
// foresaw reports it instead of leaving a faulted task unobserved.
// The type's docs are in StreamServer.cs.
public sealed partial class StreamServer
{
    private readonly ConcurrentDictionary<Task, byte> _acceptLoops = new();

    private void StartAcceptLoop(Listener listener)
    {
        var loop = RunAcceptLoopAsync(listener);
        _acceptLoops.TryAdd(loop, 0);
        _ = loop.ContinueWith(
            static (ended, loops) => ((ConcurrentDictionary<Task, byte>)loops!).TryRemove(ended, out _),
            _acceptLoops,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task RunAcceptLoopAsync(Listener listener)
    {
        try
        {
            await AcceptLoopAsync(listener).ConfigureAwait(false);
        }
        catch (Exception unforeseen)
        {
            // Never expected (the loop catches per accept), but if it happens it is reported, not left unobserved.
            OnAcceptError(unforeseen, listener);
        }
    }

    private Task WhenAcceptLoopsEndedAsync() => _acceptLoops.IsEmpty ? Task.CompletedTask : Task.WhenAll(_acceptLoops.Keys);

    /// <summary>Waits before the next accept; returns early when the server closes or the last subscriber leaves.</summary>
    private async Task BackOffAsync(Listener listener, AcceptBackoff backoff, SocketException error, CancellationToken cancellationToken)
    {
        try
        {
            Metrics.AcceptError(error, listener); // every failed attempt is counted; only the episode's first is logged and reported
        }
        catch (Exception)
        {
            // A meter listener that throws must not end the loop.
        }

        if (backoff.Fail())
        {
            try
            {
                Log.AcceptBackingOff(_logger, PeerText.Escape(listener.EndPoint), error);
            }
            catch (Exception)
            {
                // A logger that throws must not end the loop.
            }

            ReportError(error);
        }

        try
        {
            await Task.Delay(backoff.NextDelay(), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The caller's loop sees why and pauses or ends.
        }
    }

    private void OnAccepted(Listener listener, AcceptBackoff backoff)
    {
        if (backoff.Recover() is { } failedAttempts)
        {
            try
            {
                Log.AcceptResumed(_logger, PeerText.Escape(listener.EndPoint), failedAttempts);
            }
            catch (Exception)
            {
                // A logger that throws must not end the loop.
            }
        }
    }

    /// <summary>One accept loop's back-off state: the pause before the next attempt, and whether an episode is on.</summary>
    private sealed class AcceptBackoff
    {
        private static readonly TimeSpan First = TimeSpan.FromMilliseconds(10);
        private static readonly TimeSpan Longest = TimeSpan.FromSeconds(1);
        private TimeSpan _next = First;
        private int _failures;

        /// <summary>Whether an accept failed for want of a resource that frees up later, not because of one client.</summary>
        /// <remarks>.NET maps EMFILE and ENFILE to <see cref="SocketError.TooManyOpenSockets"/>, ENOBUFS and ENOMEM to <see cref="SocketError.NoBufferSpaceAvailable"/>.</remarks>
        public static bool IsShortage(SocketException error) =>
            error.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable;

        /// <summary>Counts a failure; true for the first of an episode (the one to report).</summary>
        public bool Fail() => ++_failures == 1;

        /// <summary>The pause before the next attempt: doubles each time, up to a second.</summary>
        public TimeSpan NextDelay()
        {
            var delay = _next;
            _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Longest.Ticks));
            return delay;
        }

        /// <summary>An accept worked: ends the episode; returns how many attempts failed in it (null if none was on).</summary>
        public int? Recover()
        {
            if (_failures == 0)
            {
                return null;
            }

            int failures = _failures;
            _failures = 0;
            _next = First;
            return failures;
        }
    }
}
