using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Connections;

/// <summary>The connection's log lines (its lifecycle, protocol and refusals); the connection is in ClientConnection.cs.</summary>
internal sealed partial class ClientConnection
{
    private static partial class Log
    {
        [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId} opened from {RemoteEndPoint}")]
        public static partial void ConnectionOpened(ILogger logger, long connectionId, string? remoteEndPoint);

        [LoggerMessage(4, LogLevel.Debug, "Connection {ConnectionId} closed ({Reason})")]
        public static partial void ConnectionClosed(ILogger logger, long connectionId, string reason);

        [LoggerMessage(5, LogLevel.Debug, "Connection {ConnectionId} authenticated as user {UserId}")]
        public static partial void Authenticated(ILogger logger, long connectionId, string userId);

        [LoggerMessage(6, LogLevel.Debug, "Connection {ConnectionId} refused a token: {ErrorCode}")]
        public static partial void AuthFailed(ILogger logger, long connectionId, string errorCode);

        [LoggerMessage(25, LogLevel.Information, "Connection {ConnectionId} from {RemoteEndPoint} refused a token with {ErrorCode}: {Reason}. {Suppressed} more refusal(s) for this reason since its last line")]
        public static partial void AuthRefused(ILogger logger, long connectionId, string? remoteEndPoint, string errorCode, string reason, long suppressed);

        [LoggerMessage(7, LogLevel.Debug, "Connection {ConnectionId} (user {UserId}) subscribed to guild {GuildId}")]
        public static partial void Subscribed(ILogger logger, long connectionId, string userId, string guildId);

        [LoggerMessage(8, LogLevel.Debug, "Connection {ConnectionId} (user {UserId}) was refused guild {GuildId}")]
        public static partial void SubscribeForbidden(ILogger logger, long connectionId, string userId, string guildId);

        [LoggerMessage(26, LogLevel.Information, "Connection {ConnectionId} (user {UserId}) was refused guild {GuildId} by {Policy}: {Reason}. {Suppressed} more refusal(s) for this reason since its last line")]
        public static partial void GuildRefused(ILogger logger, long connectionId, string userId, string guildId, string policy, string reason, long suppressed);

        [LoggerMessage(10, LogLevel.Information, "Connection {ConnectionId} timed out: {Reason}")]
        public static partial void TimedOut(ILogger logger, long connectionId, string reason);

        [LoggerMessage(13, LogLevel.Error, "The {Seam} threw while handling connection {ConnectionId}")]
        public static partial void SeamFailed(ILogger logger, Exception exception, string seam, long connectionId);

        [LoggerMessage(17, LogLevel.Information, "Connection {ConnectionId} lost its session: the token of user {UserId} expired")]
        public static partial void SessionExpired(ILogger logger, long connectionId, string userId);

        [LoggerMessage(60, LogLevel.Information, "Connection {ConnectionId} was refused: user {UserId} holds {Max} connections, {Section}:MaxConnectionsPerUser. {Suppressed} more refusal(s) since the last line")]
        public static partial void TooManyConnections(ILogger logger, long connectionId, string userId, int max, string section, long suppressed);

        [LoggerMessage(61, LogLevel.Information, "Connection {ConnectionId} of user {UserId} was closed: the host disconnected the user ({Reason})")]
        public static partial void UserDisconnected(ILogger logger, long connectionId, string userId, string reason);
    }
}
