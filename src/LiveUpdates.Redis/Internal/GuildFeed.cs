using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// One guild this instance subscribed to: its channel subscription and the position of the last publication handed
/// to the server. Everything that hands publications over (pub/sub messages, repairs, catch-up on a history read,
/// position checks) runs under <see cref="Gate"/>, so the server sees the guild's publications once each, in order.
/// </summary>
internal sealed class GuildFeed(string guildId)
{
    public string GuildId { get; } = guildId;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Gets or sets how many subscribers asked for the guild; changed under <see cref="RedisFeeds"/>' lock.</summary>
    public int References { get; set; }

    /// <summary>Gets or sets the channel subscription; <see langword="null"/> until it succeeded.</summary>
    public ChannelMessageQueue? Queue { get; set; }

    /// <summary>Gets or sets the last position handed to the server; <see langword="null"/> until the stream was first read.</summary>
    public StreamPosition? Delivered { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether publications may have been missed and not yet checked: the first
    /// read failed, a command failed, or the connection was lost. The next position check settles it.
    /// </summary>
    public bool Stale { get; set; }

    /// <summary>Gets or sets a value indicating whether the guild had subscribers before its position was ever known (they must refetch once it is).</summary>
    public bool UnknownWhileWatched { get; set; }

    /// <summary>Gets or sets a value indicating whether the feed was removed (its last subscriber left): late messages are ignored.</summary>
    public bool Closed { get; set; }
}
