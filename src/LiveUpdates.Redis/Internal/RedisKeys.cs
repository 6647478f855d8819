namespace LiveUpdates.Redis.Internal;

/// <summary>
/// Names a guild's keys and channel under the broker's <see cref="RedisBrokerOptions.KeyPrefix"/>, all with the
/// guild's <c>{guildId}</c> hash tag (README.md, "Data per guild"); immutable, so any thread may call it.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    /// <summary>Gets the key prefix (<see cref="RedisBrokerOptions.KeyPrefix"/>).</summary>
    public string Prefix => prefix;

    /// <summary>The guild's metadata hash: <c>e</c> = epoch, <c>s</c> = top sequence number.</summary>
    public string Meta(string guildId) => Of(guildId, "meta");

    /// <summary>The guild's stream: the bounded history.</summary>
    public string Stream(string guildId) => Of(guildId, "stream");

    /// <summary>The guild's pub/sub channel (its payload: <see cref="ChannelPayload"/>).</summary>
    public string Channel(string guildId) => Of(guildId, "ch");

    /// <summary>A publish batch's result key (named after its first entry's identity): lets a retry find that it ran.</summary>
    public string Batch(string guildId, long firstId) => Of(guildId, "b:" + firstId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private string Of(string guildId, string suffix) => string.Concat(prefix, ":{", guildId, "}:", suffix);
}
