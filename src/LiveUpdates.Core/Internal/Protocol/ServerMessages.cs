

namespace LiveUpdates.Internal.Protocol;

/// <summary>Builds the server's control frames. Constant ones are built once.</summary>
internal static class ServerMessages
{
    public const string ConnectedMessage = "Authenticate with { type: 'auth', token: '<session-token>' }";

    /// <summary><c>{"event":"pong","data":{}}</c>, shared by every connection.</summary>
    public static readonly byte[] Pong = EnvelopeSerializer.SerializeControl<object?>(ProtocolNames.Pong, null, null, static (_, _) => { });

    public static byte[] Connected(TimeSpan idleTimeout, TimeSpan authTimeout) =>
        EnvelopeSerializer.SerializeControl(ProtocolNames.Connected, null, (idleTimeout, authTimeout), static (w, s) =>
        {
            w.WriteString("message", ConnectedMessage);
            w.WriteNumber("authTimeoutMs", (long)s.authTimeout.TotalMilliseconds);
            if (s.idleTimeout != Timeout.InfiniteTimeSpan)
            {
                w.WriteNumber("idleTimeoutMs", (long)s.idleTimeout.TotalMilliseconds);
                w.WriteNumber("pingIntervalMs", (long)(s.idleTimeout.TotalMilliseconds / 3));
            }
        });

    /// <summary>
    /// <c>authenticated</c>; <c>"batch": true</c> confirms that later frames may pack several messages (only when the client
    /// asked); <c>expiresInMs</c>, when the token expires, is how long until it does, by this server's clock, so that a
    /// client renews in time whatever its own clock says.
    /// </summary>
    public static byte[] Authenticated(string userId, IReadOnlyList<string> guilds, bool batch = false, long? expiresInMs = null) =>
        EnvelopeSerializer.SerializeControl(ProtocolNames.Authenticated, null, (userId, guilds, batch, expiresInMs), static (w, s) =>
        {
            w.WriteString("userId", s.userId);
            w.WriteStartArray("guilds");
            foreach (var g in s.guilds)
            {
                w.WriteStringValue(g);
            }

            w.WriteEndArray();
            if (s.batch)
            {
                w.WriteBoolean(ProtocolNames.Batch, true);
            }

            if (s.expiresInMs is { } expiresIn)
            {
                w.WriteNumber("expiresInMs", expiresIn);
            }
        });

    /// <summary><c>subscribed</c>, with the guild stream's position and, when the client asked to recover, whether it was.</summary>
    public static byte[] Subscribed(string guildId, string epoch, long seq, bool? recovered) =>
        EnvelopeSerializer.SerializeControl(ProtocolNames.Subscribed, guildId, (guildId, epoch, seq, recovered), static (w, s) =>
        {
            w.WriteString(ProtocolNames.GuildId, s.guildId);
            w.WriteString(ProtocolNames.Epoch, s.epoch);
            w.WriteNumber(ProtocolNames.Seq, s.seq);
            if (s.recovered is { } recovered)
            {
                w.WriteBoolean(ProtocolNames.Recovered, recovered);
            }
        });

    public static byte[] Unsubscribed(string guildId) =>
        EnvelopeSerializer.SerializeControl(ProtocolNames.Unsubscribed, guildId, guildId, static (w, g) => w.WriteString(ProtocolNames.GuildId, g));

    public static byte[] Error(string code, string message, string? guildId = null) =>
        EnvelopeSerializer.SerializeControl(ProtocolNames.Error, guildId, (code, message), static (w, s) =>
        {
            w.WriteString("message", s.message);
            w.WriteString("code", s.code);
        });

    /// <summary>
    /// <c>refetch</c>: the guild's stream has a gap at <paramref name="seq"/> that this client cannot be given (an
    /// event was lost before it was published, or this server could not receive it): the client refetches the guild's
    /// data and carries on from this position.
    /// </summary>
    public static byte[] Refetch(string guildId, string epoch, long seq) =>
        EnvelopeSerializer.SerializeControl(ProtocolNames.Refetch, guildId, (guildId, epoch, seq), static (w, s) =>
        {
            w.WriteString(ProtocolNames.GuildId, s.guildId);
            w.WriteString(ProtocolNames.Epoch, s.epoch);
            w.WriteNumber(ProtocolNames.Seq, s.seq);
        });
}
