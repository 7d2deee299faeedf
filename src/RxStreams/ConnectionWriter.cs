using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using RxStreams.Internal;

namespace RxStreams;

/// <summary>
/// The sending half of a connection: asyncio's <c>StreamWriter</c>, and an <see cref="IObserver{T}"/> of byte chunks so
/// that <c>reader.Lines().Subscribe(writer)</c> is an echo server.
/// </summary>
/// <remarks>
/// <para>
/// <b>Buffering and batching.</b> <see cref="Write(ReadOnlySpan{byte})"/> copies the bytes into the writer's buffer and
/// returns; the bytes leave in one gathered send per flush, never one send per call. Writes made while a reader is
/// dispatching a received chunk (a synchronous Rx chain) are flushed when that dispatch ends; other writes are flushed
/// from the thread pool, by <see cref="DrainAsync"/>, or before the connection's own reader waits for data.
/// </para>
/// <para>
/// <b>Backpressure.</b> Above <see cref="HighWaterMark"/> (64 KiB) the writer is paused until its buffer drops to
/// <see cref="LowWaterMark"/> (16 KiB): <see cref="DrainAsync"/> waits, and a reader whose synchronous chain writes here
/// stops reading its socket, so the slow peer's TCP window pushes back on the fast one (see docs/contract.md,
/// guarantee 5 "Backpressure, end to end").
/// </para>
/// <para>
/// <b>After close.</b> Unlike asyncio, which drops such data silently, writing after <see cref="Close"/> or
/// <see cref="WriteEof"/> throws <see cref="InvalidOperationException"/>, and writing to a connection that was lost
/// throws the <see cref="IOException"/> that ended it, so a write is never silently lost.
/// </para>
/// <para>Thread safety: every member may be called from any thread.</para>
/// <para>
/// <b>Races, decided</b> (docs/adr/0013-races-decided.md). Concurrent <see cref="DrainAsync"/> calls all wait for the
/// same low-water mark and complete together, or all fail with the error that ended the connection. A <see cref="Write(ReadOnlySpan{byte})"/>
/// (or <c>OnNext</c>) racing <see cref="Close"/> or <see cref="StreamConnection.DisposeAsync"/> either is enqueued first,
/// and then sent whole before the FIN, or throws <see cref="InvalidOperationException"/>: a write is never partly sent
/// and never silently dropped. <see cref="Abort"/> racing anything wins: what is buffered is discarded, waiting drains
/// fail, and later writes throw.
/// </para>
/// <para>
/// The writer's states (open, EOF requested, EOF sent, closing, closed) and what each call does in each are tabled in
/// docs/contract.md ("The writer").
/// </para>
/// </remarks>
public sealed class ConnectionWriter : IObserver<ReadOnlyMemory<byte>>, IThreadPoolWorkItem, ISendProgress, IChunkConsumer
{
    // Every mutable field below is guarded by locking _queue (a private object: no separate lock object per writer).
    private readonly ConnectionCore _core;
    private readonly ConnectionWatchdog? _watchdog;
    private readonly SendQueue _queue = new();
    private long _buffered; // queued + being sent: asyncio's get_write_buffer_size()
    private int _highWaterMark;
    private int _lowWaterMark;
    private readonly long _maxBufferSize;
    private readonly WriteBufferOverflowPolicy _overflowPolicy;
    private bool _paused;
    private OutputState _state;
    private Exception? _failure; // set when the transport dies; writes and drains raise it
    private TaskCompletionSource? _resumed;
    private int _sending;
    private int _flushScheduled;
    private TaskCompletionSource? _sendIdle; // a TLS upgrade waits for the send loop to go idle

    internal ConnectionWriter(ConnectionCore core, ConnectionOptions options, ConnectionWatchdog? watchdog)
    {
        _core = core;
        _watchdog = watchdog;
        _highWaterMark = options.HighWaterMark;
        _lowWaterMark = options.LowWaterMark;
        _maxBufferSize = options.MaxWriteBufferSize;
        _overflowPolicy = options.WriteBufferOverflow;
    }

    private enum OutputState
    {
        Open,
        EofRequested,
        EofSent,
        Closing,
        Closed,
    }

    /// <summary>The high-water mark in bytes (asyncio: 64 KiB).</summary>
    public int HighWaterMark => Volatile.Read(ref _highWaterMark);

    /// <summary>The low-water mark in bytes (asyncio: 16 KiB).</summary>
    public int LowWaterMark => Volatile.Read(ref _lowWaterMark);

    /// <summary>Bytes written and not yet handed to the operating system (asyncio's <c>get_write_buffer_size()</c>).</summary>
    public long BufferSize
    {
        get
        {
            lock (_queue)
            {
                return _buffered;
            }
        }
    }

    /// <summary>Whether the buffer went above the high-water mark and has not yet dropped to the low-water mark.</summary>
    public bool IsPaused => Volatile.Read(ref _paused);

    /// <summary>asyncio's <c>can_write_eof()</c>: whether <see cref="WriteEof"/> can half-close: true for TCP and Unix sockets, and for TLS over them (asyncio: false for TLS).</summary>
    public bool CanWriteEof => _core.Channel.CanShutdownSend;

    /// <summary>asyncio's <c>is_closing()</c>: true once <see cref="Close"/> or <see cref="Abort"/> was called or the connection was lost. A peer's EOF does not set it.</summary>
    public bool IsClosing => _core.IsClosing;

    /// <summary>The peer's endpoint (asyncio's <c>get_extra_info('peername')</c>); behind a PROXY protocol header, the real client's.</summary>
    public EndPoint? RemoteEndPoint => _core.Identity.PeerName;

    /// <summary>The local endpoint (asyncio's <c>get_extra_info('sockname')</c>); behind a PROXY protocol header, the one the client connected to.</summary>
    public EndPoint? LocalEndPoint => _core.Identity.SockName;

    /// <summary>The socket (asyncio's <c>get_extra_info('socket')</c>); <see langword="null"/> for transports without one. Do not read from or write to it directly.</summary>
    public Socket? Socket => _core.Channel.Socket;

    internal ConnectionCore Core => _core;

    /// <summary>
    /// Cancelled when the connection is asked to finish (its server is shutting down): see
    /// <see cref="StreamConnection.CloseRequested"/>. Here so that an asyncio-style <c>(reader, writer)</c> handler sees it.
    /// </summary>
    public CancellationToken CloseRequested => _core.CloseRequested;

    /// <summary>The TLS session (see <see cref="TlsInfo"/>); <see langword="null"/> on a plain connection (until <see cref="StartTlsAsync(TlsClientOptions, CancellationToken)"/>).</summary>
    public TlsInfo? Tls => _core.Channel.Tls;

    /// <summary>
    /// asyncio's <c>get_extra_info(name, default)</c>: <c>"peername"</c>, <c>"sockname"</c> (as <see cref="EndPoint"/>) and
    /// <c>"socket"</c>; on TLS also <c>"peercert"</c> (<see cref="TlsInfo.RemoteCertificate"/>, an
    /// <see cref="System.Security.Cryptography.X509Certificates.X509Certificate2"/> or <see langword="null"/> when the peer
    /// sent none), <c>"cipher"</c> (<see cref="TlsInfo.Cipher"/>: name, version, bits), <c>"ssl_object"</c> (the
    /// <see cref="System.Net.Security.SslStream"/>), <c>"sslcontext"</c> (<see cref="TlsInfo.AuthenticationOptions"/>) and
    /// <c>"compression"</c> (always <see langword="null"/>); behind a PROXY protocol header
    /// (<see cref="ServerOptions.ProxyProtocol"/>) also <c>"proxy_header"</c> (<see cref="ProxyProtocolHeader"/>),
    /// <c>"proxy_peername"</c> and <c>"proxy_sockname"</c> (the socket's own endpoints: the proxy's address and ours), while
    /// <c>"peername"</c> and <c>"sockname"</c> are the client's and the address it connected to. On a plain connection the
    /// TLS keys, like any other name or a value that is missing, give <paramref name="defaultValue"/>.
    /// </summary>
    /// <param name="name">The key.</param>
    /// <param name="defaultValue">What to return for an unknown key or a missing value.</param>
    /// <returns>The value, or <paramref name="defaultValue"/>.</returns>
    public object? GetExtraInfo(string name, object? defaultValue = null)
    {
        switch (name)
        {
            case "peername":
                return RemoteEndPoint ?? defaultValue;
            case "sockname":
                return LocalEndPoint ?? defaultValue;
            case "socket":
                return Socket ?? defaultValue;
            case "proxy_header":
                return _core.Identity.ProxyHeader ?? defaultValue;
            case "proxy_peername":
                return _core.Identity.ProxyPeer ?? defaultValue;
            case "proxy_sockname":
                return _core.Identity.ProxyLocal ?? defaultValue;
        }

        if (Tls is { } tls)
        {
            var value = tls.ExtraInfo(name, out bool found);
            if (found)
            {
                return value; // as asyncio: a TLS key is present even when its value is None
            }
        }

        return defaultValue;
    }

    /// <summary>
    /// asyncio 3.11's <c>start_tls()</c> as the client: waits until everything written so far is sent, then runs a TLS
    /// handshake on this connection; afterwards this writer and the connection's reader carry TLS. Bytes the reader had
    /// already received and nobody read go to TLS, not lost (asyncio's gh-142352). Writes made during the handshake are
    /// sent encrypted after it.
    /// </summary>
    /// <param name="options">The TLS settings; <see cref="TlsClientOptions.ServerName"/> defaults to the host the connection was opened with.</param>
    /// <param name="cancellationToken">Cancels the upgrade (the connection is then failed: its TLS state is unknown).</param>
    /// <returns>A task that completes when the handshake succeeded.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No server name is known (a connection not opened by host name: set <see cref="TlsClientOptions.ServerName"/>).</exception>
    /// <exception cref="InvalidOperationException">The connection already uses TLS, is closing, or its reader is busy (a subscription or a pending read).</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed (for example the server's certificate was refused); the connection is failed.</exception>
    /// <exception cref="TimeoutException"><see cref="TlsClientOptions.HandshakeTimeout"/> passed; the connection is aborted.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public Task StartTlsAsync(TlsClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connection = ConnectionForUpgrade();
        _ = options.Validate(connection.HostName, nameof(options)); // argument errors at the call, before anything waits
        return StartTlsCoreAsync(ct => TlsUpgrade.ClientAsync(connection, options, connection.HostName, ct), cancellationToken);
    }

    /// <summary>
    /// asyncio 3.11's <c>start_tls()</c> as the server (a connection a <see cref="StreamServer"/> accepted, in the
    /// SMTP/IMAP/PostgreSQL pattern): waits until everything written so far (the "go ahead" reply) is sent, then answers
    /// the client's handshake; the ClientHello may already sit in the reader's buffer and is used, not lost.
    /// </summary>
    /// <remarks>
    /// Read the STARTTLS command with the pull methods (<see cref="ConnectionReader.ReadLineAsync"/>): they leave every
    /// byte after the line in the reader's buffer, where the upgrade finds it. A push chain (<c>reader.Lines().Take(1)</c>)
    /// hands whole chunks to its operators, so bytes pipelined behind the command would stay in the operator and be lost.
    /// </remarks>
    /// <param name="options">The server's TLS settings (certificate, client certificates, ALPN, handshake timeout).</param>
    /// <param name="cancellationToken">Cancels the upgrade (the connection is then failed).</param>
    /// <returns>A task that completes when the handshake succeeded.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options have no certificate.</exception>
    /// <exception cref="InvalidOperationException">The connection already uses TLS, is closing, or its reader is busy.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed; the connection is failed.</exception>
    /// <exception cref="TimeoutException"><see cref="TlsServerOptions.HandshakeTimeout"/> passed; the connection is aborted.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public Task StartTlsAsync(TlsServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        var connection = ConnectionForUpgrade();
        return StartTlsCoreAsync(ct => TlsUpgrade.ServerAsync(connection, options, ct), cancellationToken);
    }

    /// <summary>
    /// asyncio's <c>set_write_buffer_limits(high, low)</c>: given only <paramref name="high"/>, low is a quarter of it;
    /// given only <paramref name="low"/>, high is four times it; given neither, 64 KiB and 16 KiB.
    /// </summary>
    /// <param name="high">The high-water mark in bytes.</param>
    /// <param name="low">The low-water mark in bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException">Unless high ≥ low ≥ 0.</exception>
    public void SetWriteBufferLimits(int? high = null, int? low = null)
    {
        int newHigh = high ?? (low is { } l ? 4 * l : ConnectionOptions.DefaultHighWaterMark);
        int newLow = low ?? newHigh / 4;
        if (newLow < 0 || newHigh < newLow)
        {
            throw new ArgumentOutOfRangeException(nameof(high), $"high ({newHigh}) must be >= low ({newLow}) must be >= 0");
        }

        TaskCompletionSource? resumed;
        lock (_queue)
        {
            _highWaterMark = newHigh;
            _lowWaterMark = newLow;
            resumed = UpdatePauseState();
        }

        resumed?.TrySetResult();
    }

    /// <summary>Writes <paramref name="data"/> (copied; the caller may reuse it at once).</summary>
    /// <param name="data">The bytes; an empty span does nothing.</param>
    /// <exception cref="InvalidOperationException">After <see cref="WriteEof"/> or <see cref="Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost (the exception that ended it).</exception>
    /// <exception cref="WriteBufferOverflowException">
    /// The write would take the buffer past <see cref="ConnectionOptions.MaxWriteBufferSize"/>; see
    /// <see cref="ConnectionOptions.WriteBufferOverflow"/> for what happens to the connection.
    /// </exception>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        lock (_queue)
        {
            if (_state != OutputState.Open || _failure is not null)
            {
                ThrowNotWritable();
            }

            if (_buffered + data.Length > _maxBufferSize)
            {
                ThrowOverflow(data.Length);
            }

            _queue.Write(data);
            _buffered += data.Length;
            if (!_paused && _buffered > _highWaterMark)
            {
                Volatile.Write(ref _paused, true);
            }
        }

        RequestFlush();
    }

    /// <inheritdoc cref="Write(ReadOnlySpan{byte})"/>
    public void Write(ReadOnlyMemory<byte> data) => Write(data.Span);

    /// <inheritdoc cref="Write(ReadOnlySpan{byte})"/>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is <see langword="null"/>.</exception>
    public void Write(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Write(data.AsSpan());
    }

    /// <summary>asyncio's <c>writelines()</c>: writes each item in order; they leave together, under the same flow control as <see cref="Write(ReadOnlySpan{byte})"/>.</summary>
    /// <param name="data">The chunks.</param>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">After <see cref="WriteEof"/> or <see cref="Close"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    public void WriteLines(IEnumerable<ReadOnlyMemory<byte>> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var chunk in data)
        {
            Write(chunk.Span);
        }
    }

    /// <summary>
    /// Writes every chunk of <paramref name="source"/>, awaiting <see cref="DrainAsync"/> whenever the buffer is above
    /// the high-water mark: the bounded way to feed a writer from asynchronous code (after <c>ObserveOn</c>, from a
    /// <c>Channel</c>, from another connection's <see cref="ConnectionReader.ReadChunksAsync"/>). Does not close the writer.
    /// </summary>
    /// <param name="source">The chunks; each is copied before the next is requested.</param>
    /// <param name="cancellationToken">Stops writing (what was written stays written).</param>
    /// <returns>A task that completes when every chunk has been written (not necessarily sent; await <see cref="DrainAsync"/> for that).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The connection was lost.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WriteAllAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        await foreach (var chunk in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            Write(chunk.Span);
            if (IsPaused)
            {
                await DrainAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// asyncio's <c>drain()</c>: sends what is buffered and, when the buffer is above the high-water mark, waits until it
    /// drops to the low-water mark. Returns at once otherwise. Any number of callers may wait at the same time.
    /// </summary>
    /// <param name="cancellationToken">Cancels this wait only.</param>
    /// <returns>A task that completes when writing may go on.</returns>
    /// <exception cref="IOException">The connection was lost, or is closed (asyncio: <c>ConnectionResetError('Connection lost')</c>), or was aborted while waiting.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask DrainAsync(CancellationToken cancellationToken = default)
    {
        if (_core.TerminalError is { } error)
        {
            return ValueTask.FromException(error);
        }

        if (_core.IsClosed)
        {
            return ValueTask.FromException(ThrowHelper.CreateConnectionLost());
        }

        FlushNow();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return IsPaused ? WaitForDrainAsync(cancellationToken) : default;
    }

    /// <summary>
    /// asyncio's <c>write_eof()</c>: half-closes the connection (TCP FIN) once everything buffered is sent; the peer's data
    /// can still be read. Idempotent; does nothing once closing. On TLS it sends close_notify, then the FIN (asyncio raises
    /// <c>NotImplementedError</c>): TLS 1.3 lets the peer go on sending, and the reader goes on reading; a TLS 1.2 peer
    /// may answer with its own close_notify, which the reader sees as the end of the input.
    /// </summary>
    /// <exception cref="NotSupportedException">The transport cannot half-close (see <see cref="CanWriteEof"/>).</exception>
    public void WriteEof()
    {
        if (!CanWriteEof)
        {
            throw new NotSupportedException("This transport cannot half-close; use Close().");
        }

        bool shutdownNow;
        lock (_queue)
        {
            if (_state != OutputState.Open)
            {
                return;
            }

            _state = OutputState.EofRequested;
            shutdownNow = _queue.IsEmpty && _sending == 0;
            if (shutdownNow)
            {
                _state = OutputState.EofSent;
            }
        }

        if (shutdownNow)
        {
            _core.ShutdownSend();
        }
        else
        {
            FlushNow();
        }
    }

    /// <summary>
    /// asyncio's <c>close()</c>: sends what is buffered, then closes the connection. Returns at once; await
    /// <see cref="WaitClosedAsync"/> to know when it is closed. Idempotent. Bytes already received stay readable.
    /// </summary>
    /// <remarks>
    /// Once everything is handed to the operating system the send side is shut down (FIN; on TLS close_notify first) and
    /// the connection is closed; its socket lingers in the background, reading and discarding input until the peer's EOF,
    /// and only then is released (closing it with unread input would make the kernel reset the connection and destroy what
    /// the peer has not read yet). The linger is bounded by <see cref="ConnectionOptions.CloseTimeout"/> and 1 MiB of
    /// discarded input; when either runs out the socket is reset and <see cref="StreamConnection.Error"/> says so
    /// (<see cref="TimeoutException"/> or <see cref="IOException"/>). See ADR 0011.
    /// </remarks>
    public void Close()
    {
        bool closeNow;
        lock (_queue)
        {
            if (_state >= OutputState.Closing)
            {
                return;
            }

            _state = OutputState.Closing;
            closeNow = _queue.IsEmpty && _sending == 0;
        }

        _core.MarkClosing();
        if (closeNow)
        {
            _core.Close();
        }
        else
        {
            FlushNow();
        }
    }

    /// <summary>
    /// asyncio's <c>transport.abort()</c>: discards what is buffered and resets the connection at once. Pending
    /// <see cref="DrainAsync"/> calls fail (asyncio lets them succeed although the data was thrown away).
    /// </summary>
    public void Abort() => _core.Abort();

    /// <summary>
    /// asyncio's <c>wait_closed()</c>: completes once the connection is closed (not waiting for the socket's linger, see
    /// <see cref="Close"/>). Raises the <see cref="IOException"/> that ended it if it was lost (for example reset by the
    /// peer), or the <see cref="TimeoutException"/> of a <see cref="StreamConnection.DisposeAsync"/> whose flush ran out of
    /// <see cref="ConnectionOptions.CloseTimeout"/>. Cancelling one wait does not affect any other.
    /// </summary>
    /// <param name="cancellationToken">Cancels this wait only.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public Task WaitClosedAsync(CancellationToken cancellationToken = default) => _core.WaitClosedAsync(cancellationToken);

    /// <summary><c>OnNext</c> writes the chunk: see <see cref="Write(ReadOnlyMemory{byte})"/>.</summary>
    /// <param name="value">The bytes.</param>
    void IObserver<ReadOnlyMemory<byte>>.OnNext(ReadOnlyMemory<byte> value) => Write(value.Span);

    /// <summary>The source ended: flush, then half-close (<see cref="WriteEof"/>), or close where half-close is impossible.</summary>
    void IObserver<ReadOnlyMemory<byte>>.OnCompleted()
    {
        if (CanWriteEof)
        {
            WriteEof();
        }
        else
        {
            Close();
        }
    }

    /// <summary>
    /// The source failed: abort the connection (the peer sees a reset, not a clean end). An error of the source's own
    /// making (a throwing <c>Select</c>, a second subscription to a reader) also ends the connection with it and goes to
    /// its server's <see cref="StreamServer.Errors"/>; this connection's own I/O failure, passed down the chain, does not.
    /// </summary>
    /// <param name="error">The source's error.</param>
    void IObserver<ReadOnlyMemory<byte>>.OnError(Exception error)
    {
        if (ChainFault.IsOwnFailure(error, _core.TerminalError))
        {
            Abort();
        }
        else
        {
            _core.OnConsumerFault(error);
        }
    }

    /// <summary>Runs a flush requested outside any reader's dispatch.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        Volatile.Write(ref _flushScheduled, 0);
        FlushNow();
    }

    /// <summary>A writer copies every chunk it is handed (into its send queue) before <c>OnNext</c> returns.</summary>
    bool IChunkConsumer.CopiesChunks => true;

    /// <summary>And keeps no reference to it.</summary>
    bool IChunkConsumer.HoldsChunk => false;

    void ISendProgress.OnBytesSent(int count) => OnBytesSent(count);

    /// <summary>
    /// Waits until everything written has been sent and the send loop is idle, then takes its slot so nothing is sent
    /// until <see cref="ReleaseSending"/> (a TLS upgrade must not interleave plaintext with its handshake). Writes made
    /// meanwhile wait in the buffer.
    /// </summary>
    internal async ValueTask HoldSendingAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource idle;
            lock (_queue)
            {
                if (_failure is not null)
                {
                    throw _failure;
                }

                if (_state != OutputState.Open)
                {
                    throw new InvalidOperationException("The writer is closing or half-closed: TLS cannot start on it.");
                }

                if (Volatile.Read(ref _sending) == 0 && _queue.IsEmpty)
                {
                    Volatile.Write(ref _sending, 1); // FlushNow's compare-exchange now fails: we own the send slot
                    return;
                }

                idle = _sendIdle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            FlushNow();
            await idle.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives back the slot taken by <see cref="HoldSendingAsync"/> and sends what was written meanwhile.</summary>
    internal void ReleaseSending()
    {
        Volatile.Write(ref _sending, 0);
        FlushNow();
    }

    /// <summary>Called by a <see cref="WriteBatch"/> when the dispatch that wrote here ends.</summary>
    internal void FlushFromBatch() => FlushNow();

    /// <summary>Whether bytes are queued and no send is running (the connection's reader flushes before it waits).</summary>
    internal bool HasUnflushedData => Volatile.Read(ref _sending) == 0 && !_queue.IsEmpty;

    /// <summary>Starts sending whatever is queued, on this thread, unless a send is already running.</summary>
    internal void FlushNow()
    {
        if (Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
        {
            // Fire and forget: the loop catches every error itself (it fails the transport), and it usually completes
            // synchronously, so discarding the ValueTask neither loses an exception nor wastes a pooled object.
#pragma warning disable CA2012
            _ = SendLoopAsync();
#pragma warning restore CA2012
        }
    }

    /// <summary>The transport handed <paramref name="count"/> more bytes to the OS: they no longer count as buffered.</summary>
    internal void OnBytesSent(int count)
    {
        if (count <= 0)
        {
            return;
        }

        _watchdog?.OnActivity();
        Metrics.BytesSent(count);
        TaskCompletionSource? resumed;
        lock (_queue)
        {
            if (_state == OutputState.Closed)
            {
                return; // a send still in flight when the connection closed: nothing is buffered any more
            }

            _buffered -= count;
            resumed = UpdatePauseState();
        }

        resumed?.TrySetResult();
    }

    /// <summary>Waits until the writer is below its low-water mark or dead; never throws for a dead connection.</summary>
    internal ValueTask WaitUntilResumedAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource? resumed;
        lock (_queue)
        {
            if (!_paused || _failure is not null || _state == OutputState.Closed)
            {
                return default;
            }

            resumed = _resumed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        return new ValueTask(resumed.Task.WaitAsync(cancellationToken));
    }

    /// <summary>The transport closed: release every waiter and drop what can no longer be sent.</summary>
    internal void OnTransportClosed(Exception? error)
    {
        TaskCompletionSource? resumed, idle;
        lock (_queue)
        {
            _failure ??= error;
            _state = OutputState.Closed;
            _queue.Discard();
            _buffered = 0;
            Volatile.Write(ref _paused, false);
            resumed = _resumed;
            _resumed = null;
            idle = _sendIdle;
            _sendIdle = null;
        }

        resumed?.TrySetResult();
        idle?.TrySetResult();
    }

    private void RequestFlush()
    {
        if (WriteBatch.Current is { } batch)
        {
            batch.Enlist(this);
        }
        else if (Volatile.Read(ref _sending) == 0 && Interlocked.Exchange(ref _flushScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        }
    }

    private StreamConnection ConnectionForUpgrade() => _core.Connection;

    private async Task StartTlsCoreAsync(Func<CancellationToken, Task> upgrade, CancellationToken cancellationToken)
    {
        await DrainAsync(cancellationToken).ConfigureAwait(false); // asyncio: start_tls awaits drain() first
        await upgrade(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WaitForDrainAsync(CancellationToken cancellationToken)
    {
        await WaitUntilResumedAsync(cancellationToken).ConfigureAwait(false);
        Exception? failure;
        bool closed;
        lock (_queue)
        {
            failure = _failure;
            closed = _state == OutputState.Closed;
        }

        if (failure is not null)
        {
            throw failure;
        }

        if (closed)
        {
            throw ThrowHelper.CreateConnectionLost(); // closed while we waited: the data may never have left
        }
    }

    private async ValueTask SendLoopAsync()
    {
        while (true)
        {
            SendBatch? taken = null;
            bool shutdownSend = false, close = false;
            TaskCompletionSource? idle = null;
            lock (_queue)
            {
                if (_queue.IsEmpty || _failure is not null || _state == OutputState.Closed)
                {
                    Volatile.Write(ref _sending, 0);
                    FinishPendingShutdownLocked(out shutdownSend, out close);
                    idle = _sendIdle;
                    _sendIdle = null;
                }
                else
                {
                    taken = _queue.TakeAll();
                }
            }

            if (taken is not { } batch)
            {
                idle?.TrySetResult();

                // Everything is sent: now a requested half-close or close can happen (outside the lock: it calls back).
                if (shutdownSend)
                {
                    _core.ShutdownSend();
                }
                else if (close)
                {
                    _core.Close();
                }

                return;
            }

            try
            {
                await _core.SendAsync(batch, this).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                SendQueue.Release(batch);
                Volatile.Write(ref _sending, 0);
                if (_core.IsClosed)
                {
                    return; // we closed or aborted it ourselves: the failed send is a consequence, not the cause
                }

                _core.Fail(error is IOException ? error : new IOException("Sending failed: " + error.Message, error));
                return;
            }

            SendQueue.Release(batch);
        }
    }

    private void FinishPendingShutdownLocked(out bool shutdownSend, out bool close)
    {
        shutdownSend = close = false;
        if (_failure is not null)
        {
            return;
        }

        if (_state == OutputState.EofRequested)
        {
            _state = OutputState.EofSent;
            shutdownSend = true;
        }
        else if (_state == OutputState.Closing)
        {
            close = true;
        }
    }

    private TaskCompletionSource? UpdatePauseState()
    {
        if (!_paused && _buffered > _highWaterMark)
        {
            Volatile.Write(ref _paused, true);
        }
        else if (_paused && _buffered <= _lowWaterMark)
        {
            Volatile.Write(ref _paused, false);
            var resumed = _resumed;
            _resumed = null;
            return resumed;
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOverflow(int writeSize)
    {
        var overflow = new WriteBufferOverflowException(_buffered, writeSize, _maxBufferSize);
        Metrics.WriteBufferOverflow(_overflowPolicy);
        if (_overflowPolicy == WriteBufferOverflowPolicy.FailConnection)
        {
            // Aborting takes this writer's lock again (reentrant) to release waiters; the peer sees a reset.
            _core.Fail(overflow);
        }

        throw overflow;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotWritable()
    {
        if (_failure is not null)
        {
            throw _failure;
        }

        if (_state is OutputState.EofRequested or OutputState.EofSent)
        {
            ThrowHelper.ThrowWriteAfterEof();
        }

        ThrowHelper.ThrowWriterClosed();
    }
}
