namespace LiveUpdates.Internal.Protocol;

/// <summary>Field names and message types of the wire protocol (docs/protocol.md).</summary>
internal static class ProtocolNames
{
    public const string Event = "event";
    public const string GuildId = "guildId";
    public const string Data = "data";
    public const string Timestamp = "timestamp";
    public const string Seq = "seq";
    public const string Epoch = "epoch";
    public const string Recovered = "recovered";
    public const string Batch = "batch";

    // Server → client control events.
    public const string Connected = "connected";
    public const string Authenticated = "authenticated";
    public const string Subscribed = "subscribed";
    public const string Unsubscribed = "unsubscribed";
    public const string Pong = "pong";
    public const string Error = "error";
    public const string Refetch = "refetch";

    // Client → server message types.
    public const string TypeAuth = "auth";
    public const string TypeSubscribe = "subscribe";
    public const string TypeUnsubscribe = "unsubscribe";
    public const string TypePing = "ping";

    // Close reasons (the close frame's description) used with the close codes in docs/protocol.md.
    public const string CloseServerShutdown = "SERVER_SHUTDOWN";
    public const string CloseAuthTimeout = "AUTH_TIMEOUT";
    public const string CloseIdleTimeout = "IDLE_TIMEOUT";
    public const string CloseMessageTooLarge = "MESSAGE_TOO_LARGE";
    public const string CloseNormal = "CLOSED";
    public const string CloseSlowConsumer = "SLOW_CONSUMER";
    public const string CloseRateLimited = "RATE_LIMITED";
    public const string CloseTooManyGuilds = "TOO_MANY_GUILDS";
    public const string CloseTooManyAuthAttempts = "TOO_MANY_AUTH_ATTEMPTS";
    public const string CloseTooManyConnections = "TOO_MANY_CONNECTIONS";
    public const string CloseUserDisconnected = "USER_DISCONNECTED";

    /// <summary>4001: the host disconnected the user (signed out or blocked); final, the client does not reconnect with the same session.</summary>
    public const System.Net.WebSockets.WebSocketCloseStatus UserDisconnectedCloseStatus = (System.Net.WebSockets.WebSocketCloseStatus)4001;
}
