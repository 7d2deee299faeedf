using System.Net.Security;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxStreams.Internal;

/// <summary>
/// Turns a plain connection into a TLS one in place: for a TLS client connect, for each connection of a TLS server (a
/// <see cref="ConnectionSetupStep"/>), and for STARTTLS.
/// </summary>
/// <remarks>
/// <para>Order, so that no byte is lost or crosses between plaintext and TLS (asyncio pitfall 23, gh-142352):</para>
/// <code>
/// 1. the writer sends everything written so far, then holds its send slot (writes made meanwhile wait in its buffer)
/// 2. the reader is taken like a consumer, and the bytes it already received move in front of the channel for SslStream
/// 3. handshake, bounded by the handshake timeout on the connection's scheduler
/// 4. the connection's channel is replaced by TLS over it; the reader and writer are released and carry TLS from then on
/// </code>
/// <para>A failed or timed-out handshake fails the connection with that error (nothing can be sent on it any more).</para>
/// </remarks>
internal static class TlsUpgrade
{
    public static Task ClientAsync(StreamConnection connection, TlsClientOptions tls, string? host, CancellationToken cancellationToken)
    {
        var authentication = tls.Build(host, nameof(tls));
        return UpgradeAsync(
            connection,
            tls.HandshakeTimeout,
            (ssl, token) => ssl.AuthenticateAsClientAsync(authentication, token),
            ssl => new TlsInfo(ssl, isServer: false, authentication.TargetHost, authentication),
            cancellationToken);
    }

    public static Task ServerAsync(StreamConnection connection, TlsServerOptions tls, CancellationToken cancellationToken)
    {
        var authentication = tls.Build();
        return UpgradeAsync(
            connection,
            tls.HandshakeTimeout,
            (ssl, token) => ssl.AuthenticateAsServerAsync(authentication, token),
            ssl => new TlsInfo(ssl, isServer: true, ssl.TargetHostName, authentication),
            cancellationToken);
    }

    private static async Task UpgradeAsync(
        StreamConnection connection,
        TimeSpan handshakeTimeout,
        Func<SslStream, CancellationToken, Task> authenticate,
        Func<SslStream, TlsInfo> describe,
        CancellationToken cancellationToken)
    {
        var core = connection.Core;
        if (core.Channel.Tls is not null)
        {
            throw new InvalidOperationException("The connection already uses TLS.");
        }

        var writer = connection.Writer;
        var reader = connection.Reader;
        await writer.HoldSendingAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var prefix = await reader.BeginUpgradeAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var plain = core.Channel;
                var stream = new ChannelStream(plain, prefix);
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                var span = Tracing.StartTlsHandshake(connection, isServer: connection.Options is ServerOptions);
                try
                {
                    await HandshakeAsync(connection, ssl, authenticate, handshakeTimeout, cancellationToken).ConfigureAwait(false);
                    var options = connection.Options;
                    core.ReplaceChannel(new TlsChannel(plain, ssl, stream.Gate, describe(ssl), options.Scheduler, options.CloseTimeout));
                    Tracing.TlsHandshakeEnded(span, connection, null);
                }
                catch (Exception error)
                {
                    Tracing.TlsHandshakeEnded(span, connection, error);
                    await ssl.DisposeAsync().ConfigureAwait(false);
                    core.Fail(error);
                    throw;
                }
            }
            finally
            {
                reader.EndUpgrade();
            }
        }
        finally
        {
            writer.ReleaseSending();
        }
    }

    private static async Task HandshakeAsync(StreamConnection connection, SslStream ssl, Func<SslStream, CancellationToken, Task> authenticate, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var scheduler = connection.Options.Scheduler;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var expired = new ExpiryFlag();
        using var timer = scheduler.Schedule((deadline, expired), timeout, static (_, state) =>
        {
            state.expired.Expired = true;
            try
            {
                state.deadline.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The handshake finished as the deadline fired.
            }

            return Disposable.Empty;
        });
        long startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await authenticate(ssl, deadline.Token).ConfigureAwait(false);
            Metrics.TlsHandshakeEnded(connection, startedAt, null);
        }
        catch (Exception error) when (expired.Expired && error is OperationCanceledException or IOException)
        {
            // asyncio: ConnectionAbortedError('SSL handshake is taking longer than N seconds: aborting the connection').
            var timedOut = new TimeoutException($"The TLS handshake took longer than {timeout.TotalSeconds:0.###} s: the connection was aborted.", error);
            Metrics.TlsHandshakeEnded(connection, startedAt, timedOut);
            throw timedOut;
        }
        catch (Exception error)
        {
            Metrics.TlsHandshakeEnded(connection, startedAt, error);
            throw;
        }
    }

    private sealed class ExpiryFlag
    {
        public volatile bool Expired;
    }
}
