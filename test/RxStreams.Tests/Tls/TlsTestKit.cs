using System.Net.Sockets;
using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;

namespace RxStreams.Tests.Tls;

/// <summary>
/// A <see cref="TestScheduler"/> that library code may schedule on from any thread: every call takes one lock (the test
/// advances under the same lock), and the first timer's due time is announced so a test knows when to advance.
/// </summary>
internal sealed class AnnouncingTestScheduler : IScheduler
{
    private readonly TestScheduler _inner = new();
    private readonly TaskCompletionSource<TimeSpan> _firstTimer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the due time of the first relative timer scheduled.</summary>
    public Task<TimeSpan> FirstTimer => _firstTimer.Task;

    public DateTimeOffset Now
    {
        get
        {
            lock (_inner)
            {
                return _inner.Now;
            }
        }
    }

    public void AdvanceBy(TimeSpan time)
    {
        lock (_inner)
        {
            _inner.AdvanceBy(time.Ticks);
        }
    }

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action)
    {
        lock (_inner)
        {
            return _inner.Schedule(state, action);
        }
    }

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        IDisposable scheduled;
        lock (_inner)
        {
            scheduled = _inner.Schedule(state, dueTime, action);
        }

        _firstTimer.TrySetResult(dueTime);
        return new Locked(_inner, scheduled);
    }

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        lock (_inner)
        {
            return new Locked(_inner, _inner.Schedule(state, dueTime, action));
        }
    }

    private sealed class Locked(TestScheduler gate, IDisposable inner) : IDisposable
    {
        public void Dispose()
        {
            lock (gate)
            {
                inner.Dispose();
            }
        }
    }
}

/// <summary>
/// A stream over a socket whose first write goes out in one <c>send</c> together with <paramref name="prefix"/>: a
/// STARTTLS client that pipelines its ClientHello right behind its last plaintext line.
/// </summary>
internal sealed class PrefixFirstWriteStream(Socket socket, byte[] prefix) : Stream
{
    private readonly NetworkStream _inner = new(socket, ownsSocket: false);
    private byte[]? _prefix = prefix;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _prefix, null) is { } first)
        {
            var joined = new byte[first.Length + buffer.Length];
            first.CopyTo(joined, 0);
            buffer.CopyTo(joined.AsMemory(first.Length));
            buffer = joined;
        }

        await _inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
