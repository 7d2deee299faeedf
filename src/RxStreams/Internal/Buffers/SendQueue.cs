using System.Buffers;

namespace RxStreams.Internal;

/// <summary>
/// The writer's buffered bytes: copies of what was written, packed into pooled segments so that everything written
/// between two flushes leaves in one (gathered) send.
/// </summary>
/// <remarks>
/// Writes are copied because a caller may reuse its memory as soon as <c>Write</c> returns (as with
/// <see cref="Stream.Write(ReadOnlySpan{byte})"/>); the copy is also what turns many small frames into one send.
/// Segments are rented from <see cref="ArrayPool{T}.Shared"/> and returned once sent, so an idle writer holds nothing;
/// a list exists only while more than one segment is queued. Not thread-safe: the writer serialises access.
/// </remarks>
internal sealed class SendQueue
{
    private const int MinSegmentSize = 4096;
    private const int MaxSegmentSize = 1024 * 1024;

    private ArraySegment<byte> _first;
    private List<ArraySegment<byte>>? _many; // holds every sealed segment once there are two or more
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

    /// <summary>Takes everything queued; hand it back with <see cref="Release"/> once it is sent.</summary>
    public SendBatch TakeAll()
    {
        SealCurrent();
        var batch = new SendBatch(_first, _many);
        _first = default;
        _many = null;
        Length = 0;
        return batch;
    }

    /// <summary>Returns sent segments to the pool.</summary>
    public static void Release(SendBatch sent)
    {
        if (sent.Many is { } many)
        {
            foreach (var segment in many)
            {
                ArrayPool<byte>.Shared.Return(segment.Array!);
            }
        }
        else if (sent.Single.Array is { } array)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>Discards everything queued (abort).</summary>
    public void Discard() => Release(TakeAll());

    private void SealCurrent()
    {
        if (_current is null)
        {
            return;
        }

        if (_currentUsed == 0)
        {
            ArrayPool<byte>.Shared.Return(_current);
        }
        else
        {
            var segment = new ArraySegment<byte>(_current, 0, _currentUsed);
            if (_many is not null)
            {
                _many.Add(segment);
            }
            else if (_first.Array is null)
            {
                _first = segment;
            }
            else
            {
                _many = [_first, segment];
                _first = default;
            }
        }

        _current = null;
        _currentUsed = 0;
    }
}
