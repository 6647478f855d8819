namespace LiveUpdates;

/// <summary>
/// The stable <c>code</c> values of the server's <c>error</c> message. Clients may switch on them; they never change
/// meaning. Each constant says when the server sends it and what happens next.
/// </summary>
public static class LiveErrorCodes
{
    /// <summary>The frame was not valid JSON (or not valid UTF-8). The connection stays open.</summary>
    public const string InvalidJson = "INVALID_JSON";

    /// <summary>The JSON was not an object, or a field was missing or of the wrong type. The connection stays open.</summary>
    public const string InvalidMessage = "INVALID_MESSAGE";

    /// <summary>The <c>type</c> field named no known message. The connection stays open.</summary>
    public const string UnknownType = "UNKNOWN_TYPE";

    /// <summary>A binary frame arrived; the protocol is JSON text frames only. The connection stays open.</summary>
    public const string UnsupportedFrame = "UNSUPPORTED_FRAME";

    /// <summary>A message other than <c>ping</c> or <c>auth</c> arrived before a successful <c>auth</c>.</summary>
    public const string AuthRequired = "AUTH_REQUIRED";

    /// <summary>No successful <c>auth</c> within <see cref="LiveUpdatesOptions.AuthTimeout"/>; the server then closes with 1008.</summary>
    public const string AuthTimeout = "AUTH_TIMEOUT";

    /// <summary>The <c>auth</c> message carried no token.</summary>
    public const string TokenMissing = "TOKEN_MISSING";

    /// <summary>The token is malformed, its signature or algorithm is wrong, or it is too large. No further detail is given.</summary>
    public const string TokenInvalid = "TOKEN_INVALID";

    /// <summary>The token has expired, at <c>auth</c> or later while connected (the session then loses its subscriptions).</summary>
    public const string TokenExpired = "TOKEN_EXPIRED";

    /// <summary>The token's <c>nbf</c> (not before) lies in the future.</summary>
    public const string TokenNotYetValid = "TOKEN_NOT_YET_VALID";

    /// <summary>The token is genuine but lacks the user-id claim (<see cref="LiveUpdatesOptions.UserIdClaim"/>).</summary>
    public const string TokenUserMissing = "TOKEN_USER_MISSING";

    /// <summary>The <c>guildId</c> of a <c>subscribe</c>/<c>unsubscribe</c> is not a Discord snowflake.</summary>
    public const string InvalidGuildId = "INVALID_GUILD_ID";

    /// <summary>The user may not open that guild; also sent, with the guild's id, when access to a subscribed guild is revoked (the subscription ends).</summary>
    public const string Forbidden = "FORBIDDEN";

    /// <summary>More than <see cref="LiveUpdatesOptions.MaxSubscriptionChangesPerSecond"/> subscribe/unsubscribe messages in a second; the server closes with 1008.</summary>
    public const string RateLimited = "RATE_LIMITED";

    /// <summary>A subscription beyond <see cref="LiveUpdatesOptions.MaxGuildsPerClient"/>; the server closes with 1008.</summary>
    public const string TooManyGuilds = "TOO_MANY_GUILDS";

    /// <summary>More than <see cref="LiveUpdatesOptions.MaxAuthAttemptsPerMinute"/> <c>auth</c> messages in a minute on one connection; the server closes with 1008.</summary>
    public const string TooManyAuthAttempts = "TOO_MANY_AUTH_ATTEMPTS";

    /// <summary>
    /// The session changed (a new <c>auth</c> as another user, or the token expired) while a <c>subscribe</c> was
    /// being checked; sent with the guild's id. Subscribe again.
    /// </summary>
    public const string SessionChanged = "SESSION_CHANGED";

    /// <summary>
    /// An <c>auth</c> would give its user more than <see cref="LiveUpdatesOptions.MaxConnectionsPerUser"/> connections on
    /// this server; the server closes with 1008 <c>TOO_MANY_CONNECTIONS</c>. The user's other connections stay open.
    /// </summary>
    public const string TooManyConnections = "TOO_MANY_CONNECTIONS";

    /// <summary>An inbound message exceeded <see cref="LiveUpdatesOptions.MaxInboundMessageBytes"/>; the server closes with 1009.</summary>
    public const string MessageTooLarge = "MESSAGE_TOO_LARGE";

    /// <summary>The server failed while handling the message (e.g. the access policy threw). The connection stays open.</summary>
    public const string InternalError = "INTERNAL_ERROR";
}
