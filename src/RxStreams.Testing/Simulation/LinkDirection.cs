using RxStreams.Internal;

namespace RxStreams.Testing.Simulation;

/// <summary>
/// One direction of a simulated connection. A pump (an async loop, on the simulation's thread like everything else) reads
/// what the sender's application wrote from the sender's NIC while the direction has room; at a settled moment (the run
/// queue empty) the network cuts what was read into segments, stamps each with its arrival time from the link settings
/// and this direction's own random stream, and delivers them one per scheduler step into the receiver's NIC, in order.
/// </summary>
/// <remarks>
/// Determinism: the pump only appends bytes and flags; every decision (segment sizes, arrival times, what the receiver
/// gets when) is taken at a settled moment, from state that no longer changes, in a fixed order (connection, direction).
/// </remarks>
internal sealed class LinkDirection
{
    private readonly SimulatedNetwork _network;
    private readonly SimRandom _random;
    private readonly Lock _gate = new();

    // Written by the pump, taken by the driver (guarded by _gate).
    private readonly List<byte[]> _pending = [];
    private long _buffered; // read from the sender and not yet handed to the receiver's socket
    private SegmentKind? _senderEnd; // the sender's FIN or RST, seen by the pump
    private bool _resetRequested; // the network answers for this end with a reset (its socket is gone)
    private bool _receiverGone; // the receiver's application closed its socket and data reached it
    private TaskCompletionSource? _roomWaiter;

    // Driver thread only.
    private readonly Queue<Segment> _inFlight = new();
    private long _nextDeparture;
    private long _lastArrival;
    private bool _finQueued;
    private bool _rstQueued;
    private bool _deliveryScheduled;
    private bool _stalled;
    private bool _blocked;

    public LinkDirection(SimulatedNetwork network, SimulatedConnection connection, SimEnd from, SimEnd to, int index)
    {
        _network = network;
        Connection = connection;
        From = from;
        To = to;
        Index = index;
        _random = new SimRandom(SimRandom.Derive(network.Seed, "link", connection.Id, index));
    }

    public SimulatedConnection Connection { get; }

    public SimEnd From { get; }

    public SimEnd To { get; }

    /// <summary>0 for client to server, 1 for server to client: the order in which a step's directions are handled.</summary>
    public int Index { get; }

    public LinkDirection Reverse { get; set; } = null!;

    /// <summary>Nothing more travels this way (the end was delivered, or the sockets are gone).</summary>
    public bool Finished { get; private set; }

    private string Label => $"{Connection} {From.Name}>{To.Name}";

    /// <summary>Reads what the sender writes, as long as this direction has room; ends with its FIN or RST.</summary>
    public async Task PumpAsync()
    {
        var reader = From.Nic.Reader;
        try
        {
            while (true)
            {
                int room = await WaitForRoomAsync().ConfigureAwait(false);
                var chunk = await reader.ReadAsync(room).ConfigureAwait(false);
                if (chunk.IsEmpty)
                {
                    EndFromSender(SegmentKind.Fin);
                    return;
                }

                lock (_gate)
                {
                    _pending.Add(chunk.ToArray());
                    _buffered += chunk.Length;
                }

                _network.MarkDirty(this);
            }
        }
#pragma warning disable CA1031 // any failure of the sender's socket is its reset, as the peer would see it
        catch (Exception)
#pragma warning restore CA1031
        {
            EndFromSender(SegmentKind.Rst);
        }
    }

    /// <summary>The network answers for this direction's sender with a reset (its socket is gone).</summary>
    public void RequestReset()
    {
        lock (_gate)
        {
            _resetRequested = true;
        }

        _network.MarkDirty(this);
    }

    /// <summary>Drops everything: the sockets are gone (a reset both ways, a crash of the sender's host).</summary>
    public void Discard()
    {
        Finished = true;
        _inFlight.Clear();
        TaskCompletionSource? room;
        lock (_gate)
        {
            _pending.Clear();
            _buffered = 0;
            room = _roomWaiter;
            _roomWaiter = null;
        }

        WorkQueue.Set(room);
    }

    /// <summary>Puts the SYN-ACK in flight, ahead of anything the server's handler writes.</summary>
    public void SendSynAck(long now)
    {
        Send(new Segment(SegmentKind.SynAck, null), _network.Settings(From.Host, To.Host), now);
        ScheduleHead(now);
    }

    /// <summary>At a settled moment: turns what the pump read into segments, and schedules the next delivery.</summary>
    public void Transmit(long now)
    {
        byte[] bytes;
        bool fin, rst, receiverGone;
        lock (_gate)
        {
            bytes = _pending.Count switch
            {
                0 => [],
                1 => _pending[0],
                _ => _pending.SelectMany(static chunk => chunk).ToArray(),
            };
            _pending.Clear();
            fin = _senderEnd == SegmentKind.Fin && !From.Terminated;
            rst = (_senderEnd == SegmentKind.Rst && !From.Terminated) || _resetRequested;
            receiverGone = _receiverGone;
            _receiverGone = false;
        }

        if (receiverGone && !Finished)
        {
            _network.Record($"{Label} data reached a closed socket: RST back");
            To.Terminated = true;
            Discard();
            Reverse.RequestReset();
            return;
        }

        if (Finished && !(rst && !_rstQueued && _resetRequested))
        {
            return; // the bytes have nowhere to go
        }

        var settings = _network.Settings(From.Host, To.Host);
        for (int offset = 0; offset < bytes.Length;)
        {
            int size = Math.Min(_random.NextInclusive(1, settings.SegmentSize), bytes.Length - offset);
            Send(new Segment(SegmentKind.Data, bytes.AsSpan(offset, size).ToArray()), settings, now);
            offset += size;
        }

        if (fin && !_finQueued && !_rstQueued)
        {
            _finQueued = true;
            Send(new Segment(SegmentKind.Fin, null), settings, now);
        }

        if (rst && !_rstQueued)
        {
            _rstQueued = true;
            Finished = false; // a reset may follow a delivered FIN (data reached a socket that was closed)
            Send(new Segment(SegmentKind.Rst, null), settings, now);
        }

        _stalled = false; // a drain we waited for has completed, or new segments will try again
        ScheduleHead(now);
    }

    /// <summary>A partition healed or a host came back: what was held is sent again, from now.</summary>
    public void Unblock(long now)
    {
        if (!_blocked)
        {
            return;
        }

        _blocked = false;
        var settings = _network.Settings(From.Host, To.Host);
        _lastArrival = now;
        foreach (var segment in _inFlight)
        {
            segment.Arrival = Math.Max(_lastArrival + 1, now + settings.Latency.Ticks + _random.NextLong(settings.Jitter.Ticks + 1));
            _lastArrival = segment.Arrival;
        }

        _network.Record($"{Label} resumes: {_inFlight.Count} segments sent again");
        ScheduleHead(now);
    }

    private void Send(Segment segment, LinkSettings settings, long now)
    {
        long departure = Math.Max(now, _nextDeparture);
        long transmission = settings.BytesPerSecond is { } rate && segment.Length > 0
            ? (segment.Length * TimeSpan.TicksPerSecond + rate - 1) / rate
            : 0;
        _nextDeparture = departure + transmission;
        long arrival = departure + transmission + settings.Latency.Ticks + _random.NextLong(settings.Jitter.Ticks + 1);
        segment.Arrival = Math.Max(arrival, _lastArrival + 1); // in order: never before the segment ahead
        _lastArrival = segment.Arrival;
        _inFlight.Enqueue(segment);
    }

    private void ScheduleHead(long now)
    {
        if (_deliveryScheduled || _stalled || _blocked || _inFlight.Count == 0)
        {
            return;
        }

        _deliveryScheduled = true;
        _network.ScheduleAt(Math.Max(_inFlight.Peek().Arrival, now), Deliver);
    }

    private void Deliver()
    {
        _deliveryScheduled = false;
        long now = _network.Clock;
        if (_inFlight.Count == 0 || (Finished && !_rstQueued))
        {
            return;
        }

        if (_network.IsBlocked(From.Host, To.Host))
        {
            _blocked = true;
            _network.Record($"{Label} held: {_inFlight.Count} segments wait for the path");
            return;
        }

        if (To.Vanished)
        {
            // The receiver's host came back without this socket: it answers what arrives with a reset.
            _network.Record($"{Label} reached a socket that no longer exists: RST back");
            Discard();
            Reverse.RequestReset();
            return;
        }

        var segment = _inFlight.Peek();
        if (segment.Kind is SegmentKind.Data or SegmentKind.Fin && To.Nic.Writer.BufferSize > 0)
        {
            _stalled = true; // the receiving socket is full; the drain we started resumes us
            return;
        }

        _inFlight.Dequeue();
        switch (segment.Kind)
        {
            case SegmentKind.Data:
                DeliverData(segment.Data!);
                break;
            case SegmentKind.SynAck:
                _network.Established(Connection);
                break;
            case SegmentKind.Fin:
                _network.Record($"{Label} FIN");
                Finished = true;
                To.Nic.Writer.WriteEof();
                break;
            default:
                _network.Record($"{Label} RST");
                Finished = true;
                To.Terminated = true;
                To.Nic.Abort();
                Reverse.Discard(); // the receiver's socket is gone: nothing more leaves it
                break;
        }

        ScheduleHead(now);
    }

    private void DeliverData(byte[] data)
    {
        TaskCompletionSource? room;
        lock (_gate)
        {
            _buffered -= data.Length;
            room = _roomWaiter;
            _roomWaiter = null;
        }

        WorkQueue.Set(room);
        _network.Record($"{Label} {data.Length} bytes \"{SimulatedNetwork.Escape(data)}\"");
        var writer = To.Nic.Writer;
        try
        {
            writer.Write(data);
            var drained = writer.DrainAsync(); // sends into the receiving socket now; waits while it is full
            if (!drained.IsCompletedSuccessfully || To.Nic.Error is not null)
            {
                _ = WatchDrainAsync(drained);
            }
        }
        catch (Exception error) when (error is IOException or InvalidOperationException or ObjectDisposedException)
        {
            MarkReceiverGone();
        }
    }

    private async Task WatchDrainAsync(ValueTask drained)
    {
        try
        {
            await drained.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a failed drain means the receiver closed its socket: handled below
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        if (To.Nic.Error is not null && !To.Terminated)
        {
            MarkReceiverGone();
            return;
        }

        _network.MarkDirty(this); // a stalled delivery may go on
    }

    private void MarkReceiverGone()
    {
        lock (_gate)
        {
            _receiverGone = true;
        }

        _network.MarkDirty(this);
    }

    private void EndFromSender(SegmentKind kind)
    {
        if (From.Terminated)
        {
            return; // the network ended the socket itself: nothing the application sent
        }

        lock (_gate)
        {
            _senderEnd ??= kind;
        }

        _network.MarkDirty(this);
    }

    private async ValueTask<int> WaitForRoomAsync()
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                long room = _network.Settings(From.Host, To.Host).BufferSize - _buffered;
                if (room > 0 || Finished)
                {
                    return (int)Math.Max(1, Math.Min(room, int.MaxValue));
                }

                wait = (_roomWaiter ??= WorkQueue.NewSignal(_network.Thread)).Task;
            }

            await wait.ConfigureAwait(false);
        }
    }
}
