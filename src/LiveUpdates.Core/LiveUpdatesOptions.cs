using System.Text.Json;

namespace LiveUpdates;

/// <summary>
/// Settings of the LiveUpdates WebSocket server. Bound from the configuration section <c>LiveUpdates</c> by
/// <c>AddLiveUpdates(IConfiguration)</c>; the environment variables <c>WS_PORT</c>, <c>AUTH_SECRET</c> and
/// <c>AUTH_SECRET_1</c>..<c>AUTH_SECRET_3</c> set <see cref="Port"/>, <see cref="AuthSecret"/> and
/// <see cref="AdditionalAuthSecrets"/>. Every value is checked when the server starts.
/// </summary>
public sealed class LiveUpdatesOptions
{
    /// <summary>The configuration section that <c>AddLiveUpdates(IConfiguration)</c> reads by convention.</summary>
    public const string SectionName = "LiveUpdates";

    /// <summary>
    /// Gets or sets whether the server accepts sockets on its own <see cref="System.Net.HttpListener"/> (at
    /// <see cref="Host"/>, <see cref="Port"/> and <see cref="Path"/>). <see langword="false"/> when the host's own
    /// server hands it the sockets instead, through <see cref="WebSocketManager.AcceptAsync(Transports.WebSocketUpgrade, CancellationToken)"/>:
    /// <c>AddLiveUpdates().UseAspNetCore()</c> from the <c>LiveUpdates.AspNetCore</c> package sets it, and
    /// <c>app.MapLiveUpdates(…)</c> maps the endpoint. Exactly one transport takes sockets.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool HttpListenerEnabled { get; set; } = true;

    /// <summary>
    /// Gets or sets whether sockets may negotiate per-message deflate (RFC 7692) with clients that offer it, as
    /// browsers do. Only a transport that supports it can: the ASP.NET Core endpoint (<c>LiveUpdates.AspNetCore</c>),
    /// not the HttpListener, so turning it on with <see cref="HttpListenerEnabled"/> fails start-up. The server keeps
    /// no compression context between messages (less memory per socket, a little less compression). Compression of
    /// messages that mix secrets with attacker-chosen text can leak the secrets (CRIME/BREACH): our events carry no
    /// tokens, but a host's event data might.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool EnableCompression { get; set; }

    /// <summary>
    /// Gets or sets the size under which a message is sent uncompressed on a socket that negotiated per-message
    /// deflate (<see cref="EnableCompression"/>): small messages cost more CPU to deflate than the bytes they save.
    /// </summary>
    /// <value>Default: 1 KiB. 0 compresses every message.</value>
    public int CompressionThresholdBytes { get; set; } = 1024;

    /// <summary>Gets or sets the TCP port of the WebSocket server (environment variable <c>WS_PORT</c>).</summary>
    /// <value>Default: <c>3002</c>. Range 1–65535.</value>
    public int Port { get; set; } = 3002;

    /// <summary>
    /// Gets or sets the host part of the <see cref="System.Net.HttpListener"/> prefix: <c>+</c> for every address (<c>0.0.0.0</c>,
    /// <c>::</c>, <c>[::]</c> and <c>*</c> mean the same), or a host name or IP address of this machine such as <c>127.0.0.1</c>.
    /// HttpListener answers requests for any other host name with 404; <c>localhost</c> and <c>127.0.0.1</c> each also answer to the other.
    /// </summary>
    /// <value>Default: <c>+</c> (every address).</value>
    public string Host { get; set; } = "+";

    /// <summary>Gets or sets the URL path at which WebSocket upgrades are accepted; other paths get HTTP 404.</summary>
    /// <value>Default: <c>/</c>, so clients connect to <c>ws://host:3002</c>.</value>
    public string Path { get; set; } = "/";

    /// <summary>Gets or sets the secret shared with the dashboard (NextAuth's <c>AUTH_SECRET</c>; environment variable <c>AUTH_SECRET</c>). Session tokens are checked with it.</summary>
    /// <value>Default: none; required, at least 32 bytes of UTF-8.</value>
    public string? AuthSecret { get; set; }

    /// <summary>Gets or sets the token claim that holds the user id.</summary>
    /// <value>Default: <c>sub</c>.</value>
    public string UserIdClaim { get; set; } = "sub";

    /// <summary>Gets or sets the token claim that the built-in guild access policy reads: an array of guild ids the user may open.</summary>
    /// <value>Default: <c>guilds</c>.</value>
    public string GuildsClaim { get; set; } = "guilds";

    /// <summary>Gets or sets the tolerance applied to a token's <c>exp</c> and <c>nbf</c> for clocks that differ between dashboard and bot.</summary>
    /// <value>Default: 30 seconds. Range 0–5 minutes.</value>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long a new connection may go without a successful <c>auth</c> before it gets <c>AUTH_TIMEOUT</c> and is closed.</summary>
    /// <value>Default: 10 seconds.</value>
    public TimeSpan AuthTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how long a client may send nothing (no message, no ping) before the server closes it as dead.
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> turns the check off, for clients that never ping.
    /// </summary>
    /// <value>Default: 60 seconds. The <c>connected</c> message tells clients this value and a ping interval of a third of it.</value>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets how often <see cref="System.Net.HttpListener"/> sends an unsolicited pong, which keeps proxies and NATs from dropping a quiet connection. It detects nothing by itself.</summary>
    /// <value>Default: 15 seconds.</value>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets or sets how often connections are checked for the auth, idle, send and close timeouts; a timeout is acted on at most this much late.</summary>
    /// <value>Default: 1 second.</value>
    public TimeSpan LivenessCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how long one frame may take to reach a client's socket before the client is treated as stalled and aborted.</summary>
    /// <value>Default: 10 seconds.</value>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how long the server waits for a client to answer a close frame before aborting the connection.</summary>
    /// <value>Default: 5 seconds.</value>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the upper bound on <see cref="WebSocketManager.StopAsync(CancellationToken)"/>: clients still open after it are aborted.</summary>
    /// <value>Default: 5 seconds.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets how many messages may wait for one client; a client that falls this far behind is disconnected.</summary>
    /// <value>Default: 1024.</value>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>Gets or sets how many bytes may wait for one client; a client that falls this far behind is disconnected.</summary>
    /// <value>Default: 1 MiB.</value>
    public int SendQueueMaxBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets or sets the largest frame into which the server packs several queued messages, newline-separated, for a
    /// client that declared the <c>batch</c> capability in its <c>auth</c> message. A client that is behind then gets
    /// its backlog in a few frames (one write each) instead of one frame per event. 0 turns batching off: every
    /// client gets one message per frame, and <c>authenticated</c> does not confirm the capability.
    /// </summary>
    /// <value>Default: 64 KiB. A single message larger than this is still sent, alone in its frame.</value>
    public int MaxBatchBytes { get; set; } = 64 * 1024;

    /// <summary>Gets or sets how many broadcasts may wait for the dispatcher. Beyond it a broadcast is dropped and logged rather than blocking the caller.</summary>
    /// <value>Default: 100,000.</value>
    public int DispatchQueueCapacity { get; set; } = 100_000;

    /// <summary>
    /// Gets or sets how many recent events each guild keeps for clients that reconnect and ask for what they
    /// missed (<c>subscribe</c> with <c>lastSeq</c>/<c>epoch</c>). 0 turns recovery off: clients are told to refetch.
    /// </summary>
    /// <value>Default: 256.</value>
    public int HistoryCapacity { get; set; } = 256;

    /// <summary>Gets or sets how long an event stays in its guild's history.</summary>
    /// <value>Default: 5 minutes.</value>
    public TimeSpan HistoryMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets a value indicating whether, for a client that is behind, a queued latest-value event (see
    /// <see cref="LatestValueActions"/>) is replaced by a newer one of the same name and guild.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool CoalesceLatestValueEvents { get; set; } = true;

    /// <summary>Gets the event actions whose newest value makes older ones obsolete, e.g. <c>config_updated</c> in <c>moderation:config_updated</c>.</summary>
    /// <value>Default: <c>config_updated</c>, <c>stats_updated</c>, <c>status_updated</c>.</value>
    public ISet<string> LatestValueActions { get; } = new HashSet<string>(StringComparer.Ordinal) { "config_updated", "stats_updated", "status_updated" };

    /// <summary>
    /// Gets the dashboard's permission registry: each category (e.g. <c>moderation</c>) with its actions as full keys
    /// (e.g. <c>moderation.manage_config</c>). The dashboard-permission policy resolves users over it, and an event
    /// <c>&lt;plugin&gt;:&lt;action&gt;</c> reaches only users allowed at least one action of the plugin's category.
    /// </summary>
    /// <value>Default: empty (no category: every event reaches every subscriber).</value>
    public Dictionary<string, List<string>> PermissionCategories { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Gets or sets whether events of plugins that map to no registered category reach every subscriber of the guild.
    /// With <see cref="PermissionCategories"/> empty, every event does anyway; with a registry, such events reach only
    /// users who see every category (guild owners, or policies that grant full access) unless this is set: a plugin
    /// forgotten in the registry must not leak its events. <c>dashboard:*</c> events always reach every subscriber.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool DeliverUncategorizedEventsToEveryone { get; set; }

    /// <summary>Gets the event plugins whose category has another name, e.g. <c>attachment-blocker</c> → <c>moderation</c>. Other plugins map to the category of the same name.</summary>
    /// <value>Default: empty.</value>
    public Dictionary<string, string> EventCategories { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Gets the browser origins allowed to open a socket (e.g. <c>https://dashboard.example.com</c>); others get
    /// HTTP 403 before the upgrade. Requests without an <c>Origin</c> header (non-browser clients) are not affected.
    /// </summary>
    /// <value>Default: empty, which allows every origin (a page still needs a valid session token, which it cannot read from another site's cookies).</value>
    public List<string> AllowedOrigins { get; } = [];

    /// <summary>Gets or sets how many <c>subscribe</c>/<c>unsubscribe</c> messages a client may send per second; beyond it gets <c>RATE_LIMITED</c> and close 1008.</summary>
    /// <value>Default: 5.</value>
    public int MaxSubscriptionChangesPerSecond { get; set; } = 5;

    /// <summary>
    /// Gets or sets how long one send to a client may stay unfinished, while its queue is over
    /// <see cref="SendQueueCapacity"/> or <see cref="SendQueueMaxBytes"/>, before the client is cut as a slow consumer
    /// (close 1013; default 1 s). A client whose socket keeps taking data is not cut for a burst the server has not
    /// drained yet: its queue may grow to 16 times the bounds first.
    /// </summary>
    public TimeSpan SlowConsumerTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets how long work may wait in the dispatch queue without the loop making progress before
    /// <see cref="WebSocketManager.GetHealth"/> reports the server unhealthy (default 5 s; a quarter of it is degraded).
    /// </summary>
    public TimeSpan HealthDispatchLagThreshold { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets how many <c>auth</c> messages one connection may send in any minute (default 10: an open, a few
    /// token refreshes and retries). Each attempt costs a token decryption and an access-policy call; past the limit
    /// the client gets <see cref="LiveErrorCodes.TooManyAuthAttempts"/> and is closed with 1008.
    /// </summary>
    public int MaxAuthAttemptsPerMinute { get; set; } = 10;

    /// <summary>Gets or sets how many guilds one client may be subscribed to at once; one more gets <c>TOO_MANY_GUILDS</c> and close 1008.</summary>
    /// <value>Default: 10.</value>
    public int MaxGuildsPerClient { get; set; } = 10;

    /// <summary>Gets or sets how many WebSocket connections the server holds at once; beyond it upgrades get HTTP 503.</summary>
    /// <value>Default: 10,000.</value>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how many connections one remote address may hold; beyond it upgrades get HTTP 429. Behind a
    /// reverse proxy list the proxy in <see cref="TrustedProxies"/>, or every client counts as the proxy's address.
    /// </summary>
    /// <value>Default: 100.</value>
    /// <remarks>IPv6 addresses count by their /64 prefix (one customer's allocation: a client that owns a /64 cannot
    /// multiply the limit by changing the host part); IPv4 addresses, and IPv4 mapped into IPv6, count one by one.</remarks>
    public int MaxConnectionsPerAddress { get; set; } = 100;

    /// <summary>
    /// Gets or sets how many authenticated connections one user may hold on this server instance at once. One more
    /// <c>auth</c> as that user gets <see cref="LiveErrorCodes.TooManyConnections"/> and close 1008
    /// <c>TOO_MANY_CONNECTIONS</c>; the user's open connections are untouched. A re-auth as the same user on the same
    /// socket takes no second slot.
    /// </summary>
    /// <value>Default: 20 (a moderator's tabs across a few devices, with room for reconnects that overlap the old socket's close).</value>
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>Gets the addresses of reverse proxies whose <c>X-Forwarded-For</c> header names the client's address (the last entry is used).</summary>
    /// <value>Default: empty.</value>
    public List<string> TrustedProxies { get; } = [];

    /// <summary>Gets or sets how long the WebSocket upgrade may take once the request has arrived; a slower one is aborted.</summary>
    /// <value>Default: 10 seconds.</value>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how long re-checking a guild's open subscriptions after a permission change may hold back
    /// that guild's further broadcasts (other guilds are not held). Checks still running after it apply when they finish.
    /// </summary>
    /// <value>Default: 10 seconds.</value>
    public TimeSpan AccessCheckTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the largest message a client may send; a larger one gets <c>MESSAGE_TOO_LARGE</c> and close 1009.</summary>
    /// <value>Default: 32 KiB (session tokens can be several KiB).</value>
    public int MaxInboundMessageBytes { get; set; } = 32 * 1024;

    /// <summary>Gets or sets the size of each connection's receive buffer; a longer message is assembled in a larger pooled buffer up to <see cref="MaxInboundMessageBytes"/>.</summary>
    /// <value>Default: 4 KiB.</value>
    public int ReceiveBufferBytes { get; set; } = 4 * 1024;

    /// <summary>Gets or sets the serializer options for event payloads.</summary>
    /// <value>Default: <see cref="JsonSerializerDefaults.Web"/> (camelCase), as dashboards expect.</value>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Gets or sets further secrets whose session tokens are still accepted, for rotating <see cref="AuthSecret"/> without
    /// signing every dashboard user out (environment variables <c>AUTH_SECRET_1</c>, <c>AUTH_SECRET_2</c> and
    /// <c>AUTH_SECRET_3</c>, Auth.js's rotation convention, are added here). Every token format is checked with
    /// <see cref="AuthSecret"/> and each of these.
    /// </summary>
    /// <value>Default: empty. Each entry at least 32 bytes of UTF-8. Configuration adds to the list; code may replace its contents.</value>
    public List<string> AdditionalAuthSecrets { get; set; } = [];

    /// <summary>
    /// Gets or sets the names of the dashboard's Auth.js v5 session cookie. Auth.js v5 derives its encryption key from the
    /// secret salted with the cookie name, so a token is accepted when it was made for any of these names.
    /// NextAuth v4 session tokens and HS256 tokens do not depend on it.
    /// </summary>
    /// <value>
    /// Default: <c>authjs.session-token</c> and <c>__Secure-authjs.session-token</c> (the name Auth.js uses on https).
    /// Must not be empty. Configuration adds to the defaults (the configuration binder appends to lists); code may replace them.
    /// </value>
    public List<string> SessionCookieNames { get; set; } = ["authjs.session-token", "__Secure-authjs.session-token"];
}
