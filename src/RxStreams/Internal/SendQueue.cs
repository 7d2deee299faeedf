using System.Buffers;

namespace RxStreams.Internal;

/// <summary>
/// The writer's buffered bytes: copies of what was written, packed into pooled segments so that everything written
/// between two flushes leaves in one (gathered) send.
/// </summary>
/// <remarks>
/// Writes are copied because a caller may reuse its memory as soon as <c>Write</c> returns (as with
/// <see cref="Stream.Write(ReadOnlySpan{byte})"/>); the copy is also what turns many small frames into one send.
/// Segments are rented from <see cref="ArrayPool{T}.Shared"/> and returned once sent, so an idle writer holds nothing.
/// Not thread-safe: the writer serialises access.
/// </remarks>
internal sealed class SendQueue
{
    private const int MinSegmentSize = 4096;
    private const int MaxSegmentSize = 1024 * 1024;

    private List<ArraySegment<byte>> _sealed = [];
    private List<ArraySegment<byte>> _spare = [];
    private byte[]? _current;
    private int _currentUsed;

    /// <summary>Bytes queued and not yet taken for sending.</summary>
    public long Length { get; private set; }

    public bool IsEmpty => Length == 0;

    public void Write(ReadOnlySpan<byte> data)
    {
        Length += data.Length;
        while (!data.IsEmpty)
        {
            if (_current is null || _currentUsed == _current.Length)
            {
                SealCurrent();
                _current = ArrayPool<byte>.Shared.Rent(Math.Clamp(data.Length, MinSegmentSize, MaxSegmentSize));
                _currentUsed = 0;
            }

            int count = Math.Min(data.Length, _current.Length - _currentUsed);
            data[..count].CopyTo(_current.AsSpan(_currentUsed));
            _currentUsed += count;
            data = data[count..];
        }
    }

    /// <summary>Takes everything queued; hand the list back with <see cref="Release"/> once it is sent.</summary>
    public List<ArraySegment<byte>> TakeAll(out long byteCount)
    {
        SealCurrent();
        var taken = _sealed;
        _sealed = _spare;
        _spare = [];
        byteCount = Length;
        Length = 0;
        return taken;
    }

    /// <summary>Returns sent segments to the pool and keeps the list for reuse.</summary>
    public void Release(List<ArraySegment<byte>> sent)
    {
        foreach (var segment in sent)
        {
            ArrayPool<byte>.Shared.Return(segment.Array!);
        }

        sent.Clear();
        _spare = sent;
    }

    /// <summary>Discards everything queued (abort).</summary>
    public void Discard()
    {
        SealCurrent();
        foreach (var segment in _sealed)
        {
            ArrayPool<byte>.Shared.Return(segment.Array!);
        }

        _sealed.Clear();
        Length = 0;
    }

    private void SealCurrent()
    {
        if (_current is not null)
        {
            if (_currentUsed > 0)
            {
                _sealed.Add(new ArraySegment<byte>(_current, 0, _currentUsed));
            }
            else
            {
                ArrayPool<byte>.Shared.Return(_current);
            }

            _current = null;
            _currentUsed = 0;
        }
    }
}
