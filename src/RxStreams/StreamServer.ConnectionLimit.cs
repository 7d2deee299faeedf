namespace RxStreams;

/// <summary>Holding accepting back while <see cref="ServerOptions.MaxConnections"/> connections are open.</summary>
public sealed partial class StreamServer
{
    private readonly Lock _slotGate = new();
    private readonly int? _connectionCap;
    private TaskCompletionSource? _slotFreed;

    /// <summary>Completes at once below the cap (the usual case, no allocation); otherwise when a connection closes.</summary>
    private ValueTask WaitForConnectionSlotAsync(CancellationToken cancellationToken) =>
        _connectionCap is not { } max || _connections.Count < max ? default : WaitForSlotSlowAsync(max, cancellationToken);

    private async ValueTask WaitForSlotSlowAsync(int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task freed;
            lock (_slotGate)
            {
                // Checked under the gate that OnConnectionSlotFreed takes after the removal: no wake-up is lost.
                if (_connections.Count < max)
                {
                    return;
                }

                freed = (_slotFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await freed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void OnConnectionSlotFreed()
    {
        if (_connectionCap is null)
        {
            return;
        }

        TaskCompletionSource? freed;
        lock (_slotGate)
        {
            freed = _slotFreed;
            _slotFreed = null;
        }

        freed?.TrySetResult();
    }
}
