using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace LiveUpdates.Redis.Internal;

// Sharded subscriptions that must follow their slot to a new primary (a failover in a Redis Cluster).
internal sealed partial class RedisFeeds
{
    /// <summary>
    /// Whether the feed's sharded subscription was left on a node that no longer serves its slot as primary (then it
    /// is dropped, <see cref="GuildFeed.Queue"/> <see langword="null"/>, for the caller to subscribe again); the caller
    /// holds the feed's gate.
    /// </summary>
    /// <remarks>
    /// After a failover the demoted primary drops the slot's sharded subscriptions (an unsolicited <c>SUNSUBSCRIBE</c>)
    /// and StackExchange.Redis subscribes again on that same node: a replica of the shard accepts <c>SSUBSCRIBE</c>,
    /// but the new primary's <c>SPUBLISH</c> never reaches it there. An instance that writes to the slot learns of the
    /// move from a <c>MOVED</c> reply; one that only watches, from its position check's read (the read before this
    /// check). Either way the connection's slot map then names the new primary, which this compares with where the
    /// channel is subscribed.
    /// </remarks>
    private async Task<bool> LeftOnAFormerPrimaryLockedAsync(GuildFeed feed)
    {
        if (feed.Queue is not { } queue || _connection is not { } connection || _subscriber is not { } subscriber || !queue.Channel.IsSharded)
        {
            return false;
        }

        try
        {
            if (subscriber.SubscribedEndpoint(queue.Channel) is not { } at
                || connection.GetServer(_keys.Channel(feed.GuildId), flags: CommandFlags.DemandMaster) is not { IsConnected: true, EndPoint: { } primary }
                || at.Equals(primary)) // both are the connection's own endpoint objects: equal by address and port, whatever their text
            {
                return false; // not subscribed anywhere (subscribed again once a node answers), no primary known now, or in place
            }

            Log.ChannelMoved(_logger, feed.GuildId, at.ToString() ?? "?", primary.ToString() ?? "?");
            feed.Queue = null;
            await queue.UnsubscribeAsync().ConfigureAwait(false);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false; // no writable primary for the slot right now: the next check looks again
        }
    }

    private static partial class Log
    {
        [LoggerMessage(17, LogLevel.Information, "Guild {GuildId}'s sharded channel was subscribed on {Former}, which no longer serves its slot as primary (a failover): subscribing on {Primary} and catching up from the stream")]
        public static partial void ChannelMoved(ILogger logger, string guildId, string former, string primary);
    }
}
