using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>
/// One thread waiting in <c>epoll_wait</c> for the sockets of its <see cref="EventLoopChannel"/>s, and running each
/// woken reader's continuation inline (run to completion: receive, decode, handler, send on this thread). A prototype
/// behind <c>RXSTREAMS_CHANNEL=eventloop</c> (ADR 0016); the process has one loop per core, channels spread round-robin.
/// </summary>
internal sealed class EventLoop
{
    /// <summary>Environment variable selecting the channel for new sockets: <c>eventloop</c>, or anything else for the default.</summary>
    public const string ChannelVariable = "RXSTREAMS_CHANNEL";

    private const int MaxEvents = 256;

    private static readonly Lazy<EventLoop[]> Loops = new(StartLoops);
    private static int s_next;
    private static long s_lastId;

    private readonly int _epoll;
    private readonly ConcurrentDictionary<long, ReadinessWait> _waits = new();

    private EventLoop(int index)
    {
        _epoll = Epoll.Create();
        if (_epoll < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var thread = new Thread(Run) { IsBackground = true, Name = $"RxStreams event loop {index}" };
        thread.Start();
    }

    /// <summary>Whether new sockets get an <see cref="EventLoopChannel"/> (read once per process).</summary>
    public static bool IsSelected { get; } =
        string.Equals(Environment.GetEnvironmentVariable(ChannelVariable), "eventloop", StringComparison.OrdinalIgnoreCase)
        && Epoll.IsSupported;

    /// <summary>The loop for the next channel (round-robin).</summary>
    public static EventLoop Next()
    {
        var loops = Loops.Value;
        return loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
    }

    /// <summary>Watches <paramref name="descriptor"/> (edge-triggered, for input) until <see cref="Remove"/>.</summary>
    public long Add(int descriptor, ReadinessWait wait)
    {
        long id = Interlocked.Increment(ref s_lastId);
        _waits[id] = wait;
        var registration = new Epoll.Event { Events = Epoll.In | Epoll.ReadHangUp | Epoll.EdgeTriggered, Data = (ulong)id };
        if (Epoll.Control(_epoll, Epoll.Add, descriptor, ref registration) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _waits.TryRemove(id, out _);
            throw new System.Net.Sockets.SocketException(errno);
        }

        return id;
    }

    /// <summary>Stops watching; call before the descriptor closes (a closed number may be reused at once).</summary>
    public void Remove(int descriptor, long id)
    {
        var unused = default(Epoll.Event);
        _ = Epoll.Control(_epoll, Epoll.Delete, descriptor, ref unused); // fails only if already gone
        _waits.TryRemove(id, out _);
    }

    private static EventLoop[] StartLoops()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable("RXSTREAMS_EVENT_LOOPS"), out int wanted) && wanted > 0
            ? wanted
            : Environment.ProcessorCount;
        var loops = new EventLoop[count];
        for (int i = 0; i < count; i++)
        {
            loops[i] = new EventLoop(i);
        }

        return loops;
    }

    private unsafe void Run()
    {
        var events = (Epoll.Event*)NativeMemory.Alloc(MaxEvents, (nuint)sizeof(Epoll.Event));
        while (true)
        {
            int count = Epoll.Wait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == 4)
                {
                    continue; // EINTR
                }

                System.Diagnostics.Trace.TraceError($"RxStreams: epoll_wait failed (errno {errno}); the event loop stops.");
                return;
            }

            for (int i = 0; i < count; i++)
            {
                if (_waits.TryGetValue((long)events[i].Data, out var wait))
                {
                    try
                    {
                        // Runs the reader's continuation inline.
                        wait.Signal(lasting: (events[i].Events & (Epoll.ReadHangUp | Epoll.HangUp | Epoll.Error)) != 0);
                    }
                    catch (Exception error)
                    {
                        // A continuation's own errors end in its task; this is a bug, and the loop must live on.
                        System.Diagnostics.Trace.TraceError($"RxStreams: an event loop continuation threw: {error}");
                    }
                }
            }
        }
    }
}
