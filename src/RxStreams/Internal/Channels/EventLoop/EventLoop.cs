using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>
/// One thread waiting in <c>epoll_wait</c> for the sockets registered with it, telling each socket's
/// <see cref="SocketReadiness"/> when it became ready. A push reader's wait completes inline on this thread (run to
/// completion: receive, decode, handler, send here, with no thread-pool hop); every other wait is resumed on the thread
/// pool. Opt-in, <c>RXSTREAMS_CHANNEL=eventloop</c> (ADR 0016); the process has one loop per core, sockets spread
/// round-robin.
/// </summary>
internal sealed class EventLoop
{
    /// <summary>Environment variable selecting the readiness of new sockets: <c>eventloop</c>, or anything else for .NET's.</summary>
    public const string ChannelVariable = "RXSTREAMS_CHANNEL";

    /// <summary>Environment variable overriding the number of loops (default: one per core).</summary>
    public const string CountVariable = "RXSTREAMS_EVENT_LOOPS";

    private const int MaxEvents = 256;
    private const int Interrupted = 4; // EINTR

    private static readonly Lazy<EventLoop[]> Loops = new(StartLoops);
    private static int s_next;
    private static long s_lastId;

    private readonly int _epoll;
    private readonly Thread _thread;

    // By a per-registration id (epoll_data), never by descriptor: an event still queued for a registration that was
    // removed finds nothing, even if its descriptor number already belongs to another socket.
    private readonly ConcurrentDictionary<long, SocketReadiness> _registrations = new();

    /// <summary>Starts a loop with its own epoll descriptor and thread (background: it never keeps the process alive).</summary>
    public EventLoop(string name)
    {
        _epoll = Epoll.Create();
        if (_epoll < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Whether the process asked for event loops for every socket (<c>RXSTREAMS_CHANNEL=eventloop</c>, read once).</summary>
    public static bool IsSelected { get; } =
        string.Equals(Environment.GetEnvironmentVariable(ChannelVariable), "eventloop", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether this platform has the loops (Linux x64: the epoll calls are declared for its ABI).</summary>
    public static bool IsSupported => Epoll.IsSupported;

    /// <summary>Whether the calling thread is this loop's.</summary>
    public bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>The process's loop for the next socket (round-robin).</summary>
    public static EventLoop Next()
    {
        var loops = Loops.Value;
        return loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
    }

    /// <summary>Watches <paramref name="socket"/> (edge-triggered, for input) until <see cref="Remove"/>.</summary>
    /// <returns>The registration's id.</returns>
    public long Add(Socket socket, SocketReadiness readiness)
    {
        long id = Interlocked.Increment(ref s_lastId);
        _registrations[id] = readiness;

        // Registering reports what is already queued as a first readiness.
        var registration = new Epoll.Event { Events = Epoll.In | Epoll.ReadHangUp | Epoll.EdgeTriggered, Data = (ulong)id };
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            if (Epoll.Control(_epoll, Epoll.Add, (int)socket.SafeHandle.DangerousGetHandle(), ref registration) != 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }
        }
        catch
        {
            _registrations.TryRemove(id, out _);
            throw;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }

        return id;
    }

    /// <summary>
    /// Stops watching <paramref name="socket"/>. The descriptor leaves the epoll set only while the socket's handle is
    /// still open (held open during the call): a descriptor closed already left it with the close, and its number may
    /// belong to another socket by now, whose registration an <c>EPOLL_CTL_DEL</c> by number would remove instead.
    /// </summary>
    public void Remove(Socket socket, long id)
    {
        _registrations.TryRemove(id, out _);
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            var unused = default(Epoll.Event);
            _ = Epoll.Control(_epoll, Epoll.Delete, (int)socket.SafeHandle.DangerousGetHandle(), ref unused);
        }
        catch (ObjectDisposedException)
        {
            // Closed already (the kernel removed it from the set with the close): nothing to delete, nothing to touch.
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    private static EventLoop[] StartLoops()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable(CountVariable), out int wanted) && wanted > 0
            ? wanted
            : Environment.ProcessorCount;
        var loops = new EventLoop[count];
        for (int i = 0; i < count; i++)
        {
            loops[i] = new EventLoop($"RxStreams event loop {i}");
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
                if (errno == Interrupted)
                {
                    continue;
                }

                System.Diagnostics.Trace.TraceError($"RxStreams: epoll_wait failed (errno {errno}); the event loop stops.");
                return;
            }

            for (int i = 0; i < count; i++)
            {
                if (_registrations.TryGetValue((long)events[i].Data, out var readiness))
                {
                    try
                    {
                        // Runs a push reader's continuation inline; any other waiter's is queued to the thread pool.
                        readiness.Signal(lasting: (events[i].Events & (Epoll.ReadHangUp | Epoll.HangUp | Epoll.Error)) != 0);
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
