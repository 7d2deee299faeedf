using System.Net;
using Microsoft.Extensions.Logging;

namespace RxStreams.Internal;

/// <summary>RxStreams' log events, source-generated so a disabled level costs one check and no formatting.</summary>
/// <remarks>
/// Text a peer controls (an endpoint from a PROXY header, a Unix socket path) is passed through <see cref="PeerText"/>
/// first, so a parameter is a pre-escaped <see cref="string"/>, never an <see cref="EndPoint"/> formatted by the logger.
/// Per-connection failures go through the server's <see cref="LogAggregator"/>, which bounds how many lines peers can
/// cause: the first of a kind per interval in full, the rest as one "N more similar events" line.
/// </remarks>
internal static partial class Log
{
    public const string ServerCategory = "RxStreams.Server";

    [LoggerMessage(1, LogLevel.Information, "Serving on {EndPoints}")]
    public static partial void Serving(ILogger logger, string endPoints);

    [LoggerMessage(2, LogLevel.Warning, "Accepting a connection failed; the server goes on")]
    public static partial void AcceptFailed(ILogger logger, Exception error);

    [LoggerMessage(3, LogLevel.Error, "The handler of the connection from {RemoteEndPoint} failed; that connection was aborted")]
    public static partial void ConnectionFailed(ILogger logger, string remoteEndPoint, Exception error);

    [LoggerMessage(EventId = 20, Message = "{Count} more similar events ({Kind}) in the last {Seconds} s were not logged one by one")]
    public static partial void SuppressedEvents(ILogger logger, LogLevel level, int count, string kind, long seconds);

    [LoggerMessage(4, LogLevel.Information, "Server on {EndPoints} closed")]
    public static partial void Closed(ILogger logger, string endPoints);

    [LoggerMessage(5, LogLevel.Debug, "Setting up the connection from {RemoteEndPoint} failed")]
    public static partial void SetupFailed(ILogger logger, string remoteEndPoint, Exception error);

    [LoggerMessage(6, LogLevel.Warning, "Accepting on {EndPoint} failed for want of descriptors or memory; retrying with back-off until some are free")]
    public static partial void AcceptBackingOff(ILogger logger, string endPoint, Exception error);

    [LoggerMessage(7, LogLevel.Information, "Accepting on {EndPoint} again, after {FailedAttempts} failed attempts")]
    public static partial void AcceptResumed(ILogger logger, string endPoint, int failedAttempts);

    [LoggerMessage(8, LogLevel.Error, "The listening socket {EndPoint} was closed or failed under the server; it no longer accepts connections")]
    public static partial void ListenerLost(ILogger logger, EndPoint endPoint, Exception error);
}
