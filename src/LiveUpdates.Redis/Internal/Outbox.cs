using LiveUpdates.Brokers;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>A message waiting to be published, and who waits for its position.</summary>
/// <param name="message">The message.</param>
/// <param name="external">Whether the server waits for it (a gap the broker adds itself has nobody waiting).</param>
internal sealed class PendingPublication(BrokerMessage message, bool external)
{
    public BrokerMessage Message { get; } = message;

    public TaskCompletionSource<StreamPosition> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes a failed publication: with the error for the server, cancelled for the broker's own gaps (nobody observes them).</summary>
    public void Fail(Exception exception)
    {
        if (external)
        {
            Completion.TrySetException(exception);
        }
        else
        {
            Completion.TrySetCanceled();
        }
    }
}

/// <summary>
/// One guild's publications waiting for Redis, in broadcast order. At most one publish script of a guild is in flight
/// at a time (several guilds go in parallel, pipelined on the one connection), so a guild's messages reach Redis in
/// the order they were broadcast even across failures: a batch that was never sent goes back to the front and is sent
/// again once Redis is reachable; a batch whose outcome is unknown (sent, then the connection dropped or timed out) is
/// replaced by one gap, so that nobody recovers across what may or may not have been appended.
/// The mutable members are used under <see cref="RedisOutbox"/>'s lock.
/// </summary>
internal sealed class GuildOutbox(string guildId, string metaKey, string streamKey, string channel)
{
    public string GuildId { get; } = guildId;

    public RedisKey MetaKey { get; } = metaKey;

    public RedisKey StreamKey { get; } = streamKey;

    public RedisValue Channel { get; } = channel;

    public LinkedList<PendingPublication> Queue { get; } = new();

    /// <summary>Gets or sets a value indicating whether a publish script of this guild is in flight.</summary>
    public bool InFlight { get; set; }

    /// <summary>Gets or sets a value indicating whether the last attempt failed: the next waits for the retry timer (or a reconnect).</summary>
    public bool Blocked { get; set; }

    /// <summary>Gets a value indicating whether the last queued message is a gap (consecutive losses need only one).</summary>
    public bool EndsWithGap => Queue.Last is { } last && last.Value.Message.IsGap;
}

/// <summary>A publication the Redis broker could not make: the dispatcher logs it (its guild got a gap).</summary>
internal sealed class RedisPublishException(string message, Exception? inner = null) : Exception(message, inner);
