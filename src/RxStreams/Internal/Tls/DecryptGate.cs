namespace RxStreams.Internal;

/// <summary>
/// Keeps a TLS shutdown (close_notify, <c>SSL_shutdown</c>) out of a decrypting read of the same <c>SslStream</c>: over
/// OpenSSL the two cannot run at once (the shutdown fails with SSL_ERROR_SYSCALL and the read with it, losing the rest of
/// the input). The reader holds the gate for its whole read but gives it up while it waits for the network, so a
/// shutdown waits at most for one decryption, never for the peer.
/// </summary>
#pragma warning disable CA1001 // a SemaphoreSlim holds no kernel handle unless its AvailableWaitHandle is asked for: nothing to dispose
internal sealed class DecryptGate
#pragma warning restore CA1001
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _heldByReader; // touched only by the one reader at a time

    /// <summary>The reader starts a read of the <c>SslStream</c>.</summary>
    public async Task EnterReadAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        _heldByReader = true;
    }

    /// <summary>The reader's read of the <c>SslStream</c> ended.</summary>
    public void ExitRead()
    {
        if (_heldByReader)
        {
            _heldByReader = false;
            _gate.Release();
        }
    }

    /// <summary>Waits for the network with the gate given up, if the reader held it (a handshake's reads do not).</summary>
    public async ValueTask<int> WaitOutsideAsync(ValueTask<int> wait)
    {
        if (!_heldByReader)
        {
            return await wait.ConfigureAwait(false);
        }

        _heldByReader = false;
        _gate.Release();
        try
        {
            return await wait.ConfigureAwait(false);
        }
        finally
        {
            await EnterReadAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs the synchronous start of <paramref name="shutdown"/> (where <c>SslStream.ShutdownAsync</c> calls
    /// <c>SSL_shutdown</c>) with no read decrypting, and returns the rest (the write of close_notify) to await outside.
    /// </summary>
    public async Task<Task> StartShutdownAsync(Func<Task> shutdown)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return shutdown();
        }
        finally
        {
            _gate.Release();
        }
    }
}
