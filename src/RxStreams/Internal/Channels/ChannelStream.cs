using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>
/// Any <see cref="IByteChannel"/> as the <see cref="Stream"/> under an <see cref="System.Net.Security.SslStream"/>: first
/// the bytes the connection's reader had already received (a ClientHello that came with the last plaintext line, or the
/// bytes after a PROXY header), then the channel itself. Bedrock's <c>SslDuplexPipe</c> does the same over a pipe.
/// </summary>
/// <remarks>
/// <para>
/// A read takes what the channel has into this stream's own buffer and copies it out, so the buffer's arrays never
/// escape and are pooled (<see cref="ReceiveStrategy.Pooled"/>); a zero-byte read waits on the channel without any
/// memory, so an idle TLS connection holds no ciphertext buffer. Errors come out as <see cref="IOException"/>s, as from
/// a <see cref="System.Net.Sockets.NetworkStream"/>.
/// </para>
/// <para>
/// Only the asynchronous members are used by <c>SslStream</c>'s asynchronous API; the synchronous ones work but block the
/// calling thread. Disposing does not close the channel: the connection's core owns it.
/// </para>
/// </remarks>
internal sealed class ChannelStream : Stream
{
    private readonly IByteChannel _inner;
    private ReadBuffer _received;

    public ChannelStream(IByteChannel inner, byte[] prefix)
    {
        _inner = inner;
        _received.Append(prefix);
    }

    /// <summary>The gate a reader gives up while this stream waits for the network (see <see cref="DecryptGate"/>).</summary>
    public DecryptGate Gate { get; } = new();

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        try
        {
            while (true)
            {
                if (_received.Length > 0)
                {
                    // A zero-byte read only asks whether data is there.
                    int count = Math.Min(destination.Length, _received.Length);
                    _received.Lend()[..count].CopyTo(destination);
                    _received.Consume(count);
                    _received.ReleaseIfEmpty(); // the array goes back to the pool: nothing of it escaped
                    return count;
                }

                if (destination.IsEmpty)
                {
                    await Gate.WaitOutsideAsync(_inner.WaitAsync(cancellationToken)).ConfigureAwait(false);
                    return 0; // something happened: the real read that follows tells what
                }

                int received = _inner.TryReceive(ref _received, ReceiveStrategy.Pooled);
                if (received == 0)
                {
                    return 0;
                }

                if (received < 0)
                {
                    await Gate.WaitOutsideAsync(_inner.WaitAsync(cancellationToken)).ConfigureAwait(false);
                }
            }
        }
        catch (System.Net.Sockets.SocketException error)
        {
            throw ThrowHelper.WrapSocketError(error);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return;
        }

        var segment = MemoryMarshal.TryGetArray(buffer, out var array) ? array : new ArraySegment<byte>(buffer.ToArray());
        try
        {
            await _inner.SendAsync(new SendBatch(segment, null), Uncounted.Instance).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException error)
        {
            throw ThrowHelper.WrapSocketError(error);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Ciphertext progress is nobody's business: the TLS channel reports the plaintext it sent.</summary>
    private sealed class Uncounted : ISendProgress
    {
        public static readonly Uncounted Instance = new();

        public void OnBytesSent(int count)
        {
        }
    }
}
