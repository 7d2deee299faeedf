using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace RxStreams.Internal;

/// <summary>Throwers kept out of line so the hot paths that call them stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowSecondConsumer() => throw CreateSecondConsumer();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static InvalidOperationException CreateSecondConsumer() =>
        new("This reader already has a consumer: a connection's bytes can be consumed once, by one subscription or one pending pull read at a time.");

    [DoesNotReturn]
    public static void ThrowWriteAfterEof() =>
        throw new InvalidOperationException("Cannot write after WriteEof(): the sending direction is already shut down.");

    [DoesNotReturn]
    public static void ThrowWriterClosed() =>
        throw new InvalidOperationException("Cannot write after Close(): the writer is closing or closed, so the data would never be sent.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static IOException CreateConnectionLost(SocketError error = SocketError.ConnectionReset) =>
        new("Connection lost.", new SocketException((int)error));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static IOException CreateConnectionAborted() =>
        new("The connection was aborted locally; buffered data was discarded.", new SocketException((int)SocketError.ConnectionAborted));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static IOException WrapSocketError(SocketException error) =>
        new($"Connection lost: {error.Message}", error);
}
