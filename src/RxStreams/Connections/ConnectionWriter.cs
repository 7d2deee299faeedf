using System.Net;
using System.Net.Sockets;
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
public sealed partial class ConnectionWriter : IObserver<ReadOnlyMemory<byte>>, IThreadPoolWorkItem, ISendProgress, IChunkConsumer
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
    private readonly IWorkQueue? _workQueue = WorkQueue.Ambient; // the thread pool, unless made inside a simulation

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

    /// <summary>A writer copies every chunk it is handed (into its send queue) before <c>OnNext</c> returns.</summary>
    bool IChunkConsumer.CopiesChunks => true;

    /// <summary>And keeps no reference to it.</summary>
    bool IChunkConsumer.HoldsChunk => false;
}
