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

    /// <summary>Gets the identity of its stream entry (chosen once: a retry sends the same), see <see cref="RedisScripts"/>.</summary>
    public long Id { get; } = RedisScripts.NewEntryId();

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
/// again once Redis is reachable; a batch whose outcome is unknown (sent, then the connection dropped or timed out) goes
/// back too and is sent again exactly as it was (its result key tells the script it ran), and is replaced by one gap only
/// if that cannot settle it in time. It outlives its queue for a while: its <see cref="LastAck"/> is the scripts' anchor.
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

    /// <summary>Gets or sets the size of the batch at the front whose outcome is unknown (0: none): it is sent again exactly as it was.</summary>
    public int UnknownBatch { get; set; }

    /// <summary>Gets or sets when that batch's outcome first became unknown.</summary>
    public long? UnknownSince { get; set; }

    /// <summary>Gets or sets the position and identity of this instance's last acknowledged publication of the guild (the scripts' anchor).</summary>
    public Anchor? LastAck { get; set; }

    /// <summary>Gets or sets when <see cref="LastAck"/> was set (an idle outbox is forgotten once it is older than the stream's lifetime).</summary>
    public long LastAckAt { get; set; }

    /// <summary>Gets a value indicating whether the last queued message is a gap (consecutive losses need only one).</summary>
    public bool EndsWithGap => Queue.Last is { } last && last.Value.Message.IsGap;
}

/// <summary>A publication the Redis broker could not make: the dispatcher logs it (its guild got a gap).</summary>
internal sealed class RedisPublishException(string message, Exception? inner = null) : Exception(message, inner);
