namespace RxStreams.Internal;

/// <summary>
/// The connections a server has accepted and not yet seen closed: an intrusive doubly linked list (the links live in
/// <see cref="StreamConnection"/>), so tracking costs two references per connection instead of a dictionary node.
/// </summary>
internal sealed class ConnectionList
{
    private readonly Lock _lock = new();
    private StreamConnection? _head;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Add(StreamConnection connection)
    {
        lock (_lock)
        {
            connection.NextTracked = _head;
            if (_head is not null)
            {
                _head.PreviousTracked = connection;
            }

            _head = connection;
            connection.IsTracked = true;
            _count++;
        }
    }

    /// <summary>Removes the connection; returns false if it was not in the list (already removed).</summary>
    public bool Remove(StreamConnection connection)
    {
        lock (_lock)
        {
            if (!connection.IsTracked)
            {
                return false;
            }

            if (connection.PreviousTracked is { } previous)
            {
                previous.NextTracked = connection.NextTracked;
            }
            else
            {
                _head = connection.NextTracked;
            }

            if (connection.NextTracked is { } next)
            {
                next.PreviousTracked = connection.PreviousTracked;
            }

            connection.PreviousTracked = connection.NextTracked = null;
            connection.IsTracked = false;
            _count--;
            return true;
        }
    }

    /// <summary>A snapshot, so callers can close connections (which removes them) while iterating.</summary>
    public StreamConnection[] Snapshot()
    {
        lock (_lock)
        {
            var snapshot = new StreamConnection[_count];
            int i = 0;
            for (var node = _head; node is not null; node = node.NextTracked)
            {
                snapshot[i++] = node;
            }

            return snapshot;
        }
    }
}
