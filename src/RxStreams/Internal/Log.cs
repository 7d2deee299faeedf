using System.Net;
using Microsoft.Extensions.Logging;

namespace RxStreams.Internal;

/// <summary>RxStreams' log events, source-generated so a disabled level costs one check and no formatting.</summary>
internal static partial class Log
{
    public const string ServerCategory = "RxStreams.Server";

    [LoggerMessage(1, LogLevel.Information, "Serving on {EndPoints}")]
    public static partial void Serving(ILogger logger, string endPoints);

    [LoggerMessage(2, LogLevel.Warning, "Accepting a connection failed; the server goes on")]
    public static partial void AcceptFailed(ILogger logger, Exception error);

    [LoggerMessage(3, LogLevel.Error, "The handler of the connection from {RemoteEndPoint} failed; that connection was aborted")]
    public static partial void ConnectionFailed(ILogger logger, EndPoint? remoteEndPoint, Exception error);

    [LoggerMessage(4, LogLevel.Information, "Server on {EndPoints} closed")]
    public static partial void Closed(ILogger logger, string endPoints);

    [LoggerMessage(5, LogLevel.Debug, "Setting up the connection from {RemoteEndPoint} failed")]
    public static partial void SetupFailed(ILogger logger, EndPoint? remoteEndPoint, Exception error);

    [LoggerMessage(6, LogLevel.Error, "The listening socket {EndPoint} was closed or failed under the server; it no longer accepts connections")]
    public static partial void ListenerLost(ILogger logger, EndPoint endPoint, Exception error);
}
