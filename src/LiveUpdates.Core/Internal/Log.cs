using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal;

/// <summary>Source-generated log messages of the server, with structured fields.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "LiveUpdates WebSocket server listening on {Prefix}")]
    public static partial void Listening(ILogger logger, string prefix);

    [LoggerMessage(2, LogLevel.Information, "LiveUpdates WebSocket server stopped; {Aborted} connection(s) had to be aborted")]
    public static partial void Stopped(ILogger logger, int aborted);

    [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId} opened from {RemoteEndPoint}")]
    public static partial void ConnectionOpened(ILogger logger, long connectionId, string? remoteEndPoint);

    [LoggerMessage(4, LogLevel.Debug, "Connection {ConnectionId} closed ({Reason})")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, string reason);

    [LoggerMessage(5, LogLevel.Debug, "Connection {ConnectionId} authenticated as user {UserId}")]
    public static partial void Authenticated(ILogger logger, long connectionId, string userId);

    [LoggerMessage(6, LogLevel.Information, "Connection {ConnectionId} refused a token: {ErrorCode}")]
    public static partial void AuthFailed(ILogger logger, long connectionId, string errorCode);

    [LoggerMessage(7, LogLevel.Debug, "Connection {ConnectionId} (user {UserId}) subscribed to guild {GuildId}")]
    public static partial void Subscribed(ILogger logger, long connectionId, string userId, string guildId);

    [LoggerMessage(8, LogLevel.Information, "Connection {ConnectionId} (user {UserId}) was refused guild {GuildId}")]
    public static partial void SubscribeForbidden(ILogger logger, long connectionId, string userId, string guildId);

    [LoggerMessage(9, LogLevel.Warning, "Connection {ConnectionId} fell {QueuedMessages} messages / {QueuedBytes} bytes behind and was disconnected as a slow consumer")]
    public static partial void SlowConsumer(ILogger logger, long connectionId, int queuedMessages, long queuedBytes);

    [LoggerMessage(10, LogLevel.Information, "Connection {ConnectionId} timed out: {Reason}")]
    public static partial void TimedOut(ILogger logger, long connectionId, string reason);

    [LoggerMessage(11, LogLevel.Debug, "Connection {ConnectionId} send failed: {Error}")]
    public static partial void SendFailed(ILogger logger, long connectionId, string error);

    [LoggerMessage(12, LogLevel.Error, "The dispatch queue is full ({Capacity}); event {EventName} for guild {GuildId} was dropped")]
    public static partial void DispatchQueueFull(ILogger logger, int capacity, string eventName, string guildId);

    [LoggerMessage(13, LogLevel.Error, "The {Seam} threw while handling connection {ConnectionId}")]
    public static partial void SeamFailed(ILogger logger, Exception exception, string seam, long connectionId);

    [LoggerMessage(14, LogLevel.Debug, "Broadcast of {EventName} for guild {GuildId} ignored: the server is not running")]
    public static partial void NotRunning(ILogger logger, string eventName, string guildId);

    [LoggerMessage(15, LogLevel.Debug, "Refused HTTP request {Method} {Path} from {RemoteEndPoint}: {Status}")]
    public static partial void HttpRefused(ILogger logger, string method, string? path, string? remoteEndPoint, int status);

    [LoggerMessage(16, LogLevel.Warning, "Accepting a WebSocket from {RemoteEndPoint} failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception, string? remoteEndPoint);

    [LoggerMessage(17, LogLevel.Information, "Connection {ConnectionId} lost its session: the token of user {UserId} expired")]
    public static partial void SessionExpired(ILogger logger, long connectionId, string userId);

    [LoggerMessage(18, LogLevel.Error, "The dispatcher failed on event {EventName} for guild {GuildId}")]
    public static partial void DispatchFailed(ILogger logger, Exception exception, string eventName, string guildId);

    [LoggerMessage(19, LogLevel.Debug, "Connection {ConnectionId} closing with {Status} {Reason}")]
    public static partial void Closing(ILogger logger, long connectionId, WebSocketCloseStatus status, string reason);
}
