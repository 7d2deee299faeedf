namespace RxStreams;

// The connection cap: accepting is held back while ServerOptions.MaxConnections connections are open
// (docs/adr/0014-listener-loss-and-connection-cap.md). The type's docs are in StreamServer.cs.
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
