namespace LiveUpdates.Redis;

/// <summary>Settings of the Redis broker (<see cref="RedisBroker"/>).</summary>
public sealed class RedisBrokerOptions
{
    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string, e.g. <c>localhost:6379</c> or
    /// <c>redis.internal:6379,password=…,ssl=true</c>; a <c>redis://</c> or <c>rediss://</c> URL is accepted too.
    /// Required. Through <c>AddRedis()</c> the environment variable <c>REDIS_URL</c> sets it.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every key and channel, so several applications (or environments) can share one Redis:
    /// guild <c>G</c>'s keys are <c>&lt;prefix&gt;:{G}:stream</c> and <c>&lt;prefix&gt;:{G}:meta</c>, its channel
    /// <c>&lt;prefix&gt;:{G}:ch</c>. Every instance of one application must use the same prefix. Default <c>liveupdates</c>.
    /// </summary>
    public string KeyPrefix { get; set; } = "liveupdates";

    /// <summary>
    /// Gets or sets how many publications each guild's stream keeps for recovery; <see langword="null"/> takes
    /// <see cref="LiveUpdatesOptions.HistoryCapacity"/> when added with <c>AddRedis()</c>, 256 otherwise.
    /// </summary>
    public int? HistoryCapacity { get; set; }

    /// <summary>
    /// Gets or sets how long a publication stays recoverable (and how long an idle guild's keys live); <see langword="null"/>
    /// takes <see cref="LiveUpdatesOptions.HistoryMaxAge"/> when added with <c>AddRedis()</c>, 5 minutes otherwise.
    /// </summary>
    public TimeSpan? HistoryMaxAge { get; set; }

    /// <summary>
    /// Gets or sets how many publications may wait for Redis (while it is unreachable, or behind slower round trips)
    /// before further broadcasts are dropped and recorded as one gap per guild, so that their subscribers refetch.
    /// Default 10,000.
    /// </summary>
    public int OutboxCapacity { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how often each subscribed guild's stream position is compared with what was delivered, so that a
    /// pub/sub message lost while nothing newer is published is still noticed (then repaired from the stream or
    /// signalled as a refetch). Default 10 seconds.
    /// </summary>
    public TimeSpan PositionCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how long one Redis command may take before it counts as failed (StackExchange.Redis's
    /// <c>asyncTimeout</c>, unless the configuration string sets one). Default 5 seconds.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets whether the guilds' channels use sharded pub/sub (<c>SPUBLISH</c>/<c>SSUBSCRIBE</c>, Redis/Valkey
    /// 7.0+), so that on a Redis Cluster each channel message goes only to the shard that owns its guild instead of to
    /// every node, and pub/sub traffic scales with the shards. <see langword="null"/> (the default) decides on the first
    /// connection: sharded on a Redis Cluster whose nodes are all 7.0 or later, classic <c>PUBLISH</c>/<c>SUBSCRIBE</c>
    /// otherwise. <see langword="true"/> or <see langword="false"/> forces it (<see langword="true"/> needs 7.0+ on every
    /// node). Every instance of one application must end up with the same choice.
    /// </summary>
    public bool? ShardedPubSub { get; set; }

    /// <summary>
    /// Gets or sets how long a stop keeps trying to publish what waits in the outbox; <see langword="null"/> takes
    /// <see cref="LiveUpdatesOptions.ShutdownTimeout"/> when added with <c>AddRedis()</c>, 5 seconds otherwise. Not an
    /// option of its own (the server's <c>ShutdownTimeout</c> is the one users set).
    /// </summary>
    internal TimeSpan? ShutdownTimeout { get; set; }
}
