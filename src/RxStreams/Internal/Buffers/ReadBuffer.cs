using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RxStreams.Internal;

/// <summary>
/// The unconsumed bytes of one byte stream, kept contiguous in append-only memory so that every frame can be handed
/// out as a slice that nobody will ever write to again (docs/contract.md, guarantee 1 "Ownership") without a copy per
/// frame.
/// </summary>
/// <remarks>
/// <para>
/// Layout: <c>_array[_start.._end)</c> are the unconsumed bytes; <c>_array[_end.._writableEnd)</c> is free space that
/// belongs to this buffer alone. Bytes below <c>_end</c> may already have been emitted, so they are never written again:
/// when the free space runs out, the pending bytes move to a new array and the old one is left to the garbage collector
/// (emitted slices keep it alive as long as they need it). Arrays are allocated, never pooled, for the same reason.
/// </para>
/// <para>
/// Owned input (chunks the library emitted itself, which are immutable) is adopted without a copy; when the next owned
/// chunk follows it in the same array (a socket reader fills its array front to back) the two simply merge.
/// Anything else is copied once, on entry.
/// </para>
/// <para>
/// The one exception to "never pooled": for a receive with <see cref="ReceiveStrategy.Pooled"/> (a push subscription
/// whose observer copies every chunk and keeps nothing, such as <c>reader.Lines().Subscribe(writer)</c>), fresh arrays are rented from
/// <see cref="ArrayPool{T}.Shared"/>, and an array goes back to the pool when it is released, but only if no slice of
/// it was ever handed out except through <see cref="Lend"/> to such a consumer. Every <see cref="Expose"/>, and
/// <see cref="MarkEscaped"/>, revokes that for the current array, so an array whose slices anyone may keep is never
/// reused (guarantee 1 "Ownership"). This saves an allocation (and its zeroing) per wake of a busy line-echo connection.
/// </para>
/// <para>
/// Not thread-safe: one reader, one decoder loop. A mutable struct, embedded in its owner to keep idle connections
/// small: keep it in a non-readonly field and pass it by <see langword="ref"/>.
/// </para>
/// </remarks>
internal struct ReadBuffer
{
    /// <summary>Allocation size for a fresh array when nothing says otherwise.</summary>
    internal const int DefaultArraySize = 16 * 1024;

    /// <summary>Largest single receive; matches the socket's default receive buffer on Linux loopback well enough.</summary>
    internal const int MaxReceiveSize = 64 * 1024;

    private byte[]? _array; // null until the first byte arrives
    private int _start;
    private int _end;
    private int _writableEnd;
    private bool _recyclable; // _array was rented and no slice of it escaped: releasing it returns it to the pool

    /// <summary>Whether there is an array at all (an idle buffer has none).</summary>
    public readonly bool HasArray => _array is not null;

    /// <summary>Number of unconsumed bytes.</summary>
    public readonly int Length => _end - _start;

    /// <summary>
    /// Hands out the unconsumed bytes as owned memory: immutable and never reused, since slices of it may be emitted and
    /// kept, so the current array stays out of the pool for good.
    /// </summary>
    public ReadOnlyMemory<byte> Expose()
    {
        _recyclable = false;
        return new(_array, _start, _end - _start);
    }

    /// <summary>
    /// <see cref="Expose"/> as a span, with the array and the index it starts at: a decode run describes its frames as
    /// slices of that array (<see cref="FrameSlice"/>). Only while there are bytes (there is an array).
    /// </summary>
    public ReadOnlySpan<byte> ExposeInArray(out byte[] array, out int start)
    {
        _recyclable = false;
        array = _array!;
        start = _start;
        return new(_array, _start, _end - _start);
    }

    /// <summary>
    /// The unconsumed bytes, lent to a consumer that copies them before it returns and keeps no reference: the array may
    /// still go back to the pool. Call <see cref="MarkEscaped"/> if the consumer turned out to keep something
    /// (<see cref="ChunkLease"/> does).
    /// </summary>
    public readonly ReadOnlyMemory<byte> Lend() => new(_array, _start, _end - _start);

    /// <summary>A slice of the current array may be kept by someone: it must never be reused.</summary>
    public void MarkEscaped() => _recyclable = false;

    /// <summary>Free space that a receive could fill without moving anything.</summary>
    public readonly int FreeSpace => _writableEnd - _end;

    /// <summary>Drops <paramref name="count"/> bytes from the front.</summary>
    public void Consume(int count)
    {
        Debug.Assert((uint)count <= (uint)Length);
        _start += count;
    }

    /// <summary>
    /// Puts back the last <paramref name="count"/> bytes consumed: frames decoded ahead of a pull consumer that never took
    /// them. Valid only while nothing was received or moved since they were consumed.
    /// </summary>
    public void Unconsume(int count)
    {
        Debug.Assert((uint)count <= (uint)_start);
        _start -= count;
    }

    /// <summary>Drops every unconsumed byte.</summary>
    public void Clear() => _start = _end;

    /// <summary>
    /// Forgets the array when nothing is pending, so an idle connection holds no receive memory (the free tail is
    /// abandoned; the emitted slices before it keep what they need alive).
    /// </summary>
    public void ReleaseIfEmpty()
    {
        if (_start == _end)
        {
            ReturnIfRecyclable();
            _array = null;
            _start = _end = _writableEnd = 0;
        }
    }

    /// <summary>
    /// Makes the whole array free again when nothing is pending. Only for a caller that knows no slice of the array
    /// escaped (the chunk went to a <see cref="ConnectionWriter"/>, which copies and keeps nothing): then reusing the
    /// memory cannot be observed, and a proxy or bulk echo allocates nothing per receive.
    /// </summary>
    public void RewindIfEmpty()
    {
        if (_start == _end && _array is not null)
        {
            _start = _end = 0;
            _writableEnd = _array.Length;
        }
    }

    /// <summary>
    /// Forgets the array when nothing is pending and too little free space is left to be worth keeping (always the
    /// case for adopted memory, which has none): the emitted slices keep what they need alive, we keep nothing.
    /// </summary>
    public void TrimIfEmpty()
    {
        if (_start == _end && _writableEnd - _end < MinUsefulFreeSpace)
        {
            ReleaseIfEmpty();
        }
    }

    private const int MinUsefulFreeSpace = 1024;

    /// <summary>
    /// Returns free space of at least <paramref name="minimum"/> bytes (and preferably <paramref name="preferred"/>) after
    /// the unconsumed bytes, moving them to a new array when the current one cannot take it: rented from the pool when
    /// <paramref name="pooled"/> (the receive's <see cref="ReceiveStrategy.Pooled"/>), else allocated.
    /// </summary>
    public Memory<byte> GetFreeSpace(int minimum, int preferred, bool pooled)
    {
        Debug.Assert(minimum > 0 && preferred >= minimum);
        if (FreeSpace < minimum)
        {
            Grow(Math.Max(preferred, minimum), pooled);
        }

        return new Memory<byte>(_array!, _end, _writableEnd - _end);
    }

    /// <summary>Marks <paramref name="count"/> bytes of the free space as received.</summary>
    public void Commit(int count)
    {
        Debug.Assert((uint)count <= (uint)FreeSpace);
        _end += count;
    }

    /// <summary>Appends a copy of <paramref name="data"/>.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (FreeSpace < data.Length)
        {
            Grow(Math.Max(data.Length, DefaultArraySize), pooled: false);
        }

        data.CopyTo(_array!.AsSpan(_end));
        _end += data.Length;
    }

    /// <summary>
    /// Appends memory that is known to be immutable and owned by the receiver (emitted by RxStreams itself), adopting it
    /// without a copy when possible.
    /// </summary>
    public void AppendOwned(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (!MemoryMarshal.TryGetArray(data, out var segment) || segment.Array is null)
        {
            Append(data.Span);
            return;
        }

        if (_start == _end)
        {
            ReturnIfRecyclable();

            // Adopt: the space after the chunk is not ours (its producer may still fill it), so nothing is writable.
            _array = segment.Array;
            _start = segment.Offset;
            _end = _writableEnd = segment.Offset + segment.Count;
            return;
        }

        if (ReferenceEquals(segment.Array, _array) && segment.Offset == _end && _end == _writableEnd)
        {
            // The next piece of the same producer's array: the bytes are already where they belong.
            _end = _writableEnd = segment.Offset + segment.Count;
            return;
        }

        Append(data.Span);
    }

    private void ReturnIfRecyclable()
    {
        if (_recyclable && _array is { } array)
        {
            _recyclable = false;
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private void Grow(int extra, bool pooled)
    {
        int pending = Length;
        long wanted = (long)pending + extra;
        if (wanted > Array.MaxLength)
        {
            throw new InsufficientMemoryException($"A frame of {wanted} bytes cannot be buffered.");
        }

        // Double for frames that keep growing (readexactly of a large n) so the copies stay linear overall.
        long size = Math.Max(wanted, Math.Min((long)pending * 2, Array.MaxLength));
        bool rent = pooled && size <= MaxReceiveSize;
        var next = rent ? ArrayPool<byte>.Shared.Rent((int)size) : GC.AllocateUninitializedArray<byte>((int)size);
        _array.AsSpan(_start, pending).CopyTo(next);
        ReturnIfRecyclable(); // its pending bytes are copied; the rest went only to consumers that copied them
        _recyclable = rent;
        _array = next;
        _start = 0;
        _end = pending;
        _writableEnd = next.Length;
    }
}
