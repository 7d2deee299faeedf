using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// The socket as the <see cref="Stream"/> under an <see cref="System.Net.Security.SslStream"/>: first the bytes the
/// connection's reader had already received (a ClientHello that came with the last plaintext line, or the bytes after a
/// PROXY header), then the socket itself.
/// </summary>
/// <remarks>
/// <see cref="NetworkStream"/> cannot be used: it insists on a blocking socket, and the transport's socket is
/// non-blocking. Only the asynchronous members are used by <c>SslStream</c>'s asynchronous API; the synchronous ones
/// work but block the calling thread. Disposing does not close the socket: the transport owns it.
/// </remarks>
internal sealed class TlsSocketStream(Socket socket, byte[] prefix) : Stream
{
    private byte[]? _prefix = prefix.Length > 0 ? prefix : null;
    private int _prefixOffset;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefix is { } prefix)
        {
            if (buffer.IsEmpty)
            {
                return new ValueTask<int>(0); // a zero-byte read: data is available
            }

            int count = Math.Min(buffer.Length, prefix.Length - _prefixOffset);
            prefix.AsSpan(_prefixOffset, count).CopyTo(buffer.Span);
            _prefixOffset += count;
            if (_prefixOffset == prefix.Length)
            {
                _prefix = null;
            }

            return new ValueTask<int>(count);
        }

        return ReceiveAsync(buffer, cancellationToken);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            while (!buffer.IsEmpty)
            {
                int sent = await socket.SendAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                buffer = buffer[sent..];
            }
        }
        catch (SocketException error)
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

    private async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException error)
        {
            throw ThrowHelper.WrapSocketError(error);
        }
    }
}
