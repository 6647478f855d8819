using StackExchange.Redis;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// Whether the guilds' channels are sharded (<c>SPUBLISH</c>/<c>SSUBSCRIBE</c>) or classic (<c>PUBLISH</c>/<c>SUBSCRIBE</c>):
/// <see cref="RedisBrokerOptions.ShardedPubSub"/>, or, when that is <see langword="null"/>, decided once from the first
/// connection (sharded on a Redis Cluster whose nodes are all 7.0 or later). Thread-safe; the decision never changes.
/// </summary>
internal sealed class PubSubMode(bool? configured)
{
    private static readonly Version Sharding = new(7, 0);
    private readonly bool? _configured = configured;

    // 0 = not decided yet (not connected yet), 1 = classic, 2 = sharded.
    private int _mode = configured switch { true => 2, false => 1, null => 0 };

    /// <summary>Gets whether the mode is decided and sharded.</summary>
    public bool IsSharded => Volatile.Read(ref _mode) == 2;

    /// <summary>
    /// Why sharded pub/sub, forced on, cannot work with these servers (one older than 7.0: no <c>SSUBSCRIBE</c>, no
    /// <c>SPUBLISH</c> in scripts); <see langword="null"/> when it can, or when it is not forced on. The unit seam of the check.
    /// </summary>
    public static string? Refusal(bool? configured, IEnumerable<(string EndPoint, Version Version)> servers)
    {
        if (configured != true)
        {
            return null;
        }

        foreach (var (endPoint, version) in servers)
        {
            if (version < Sharding)
            {
                return $"LiveUpdates:Redis:ShardedPubSub is true, but the Redis server {endPoint} is version {version}: sharded pub/sub (SPUBLISH/SSUBSCRIBE) needs Redis or Valkey 7.0 or later. Set ShardedPubSub to false, or leave it unset (automatic: sharded only where every node supports it). If the server is 7.0 or later but does not let this user run INFO (the version then comes from the configuration string), add version=7.0 (or its real version) to LiveUpdates:Redis:Configuration.";
            }
        }

        return null;
    }

    private int _checked; // 1 once a check found servers and no refusal: never repeated (publishes call Decided)
    private int _reported; // 1 once the refusal was taken for the log or the failed start

    /// <summary>Gets why the forced sharded mode cannot work with the servers reached (see <see cref="Refusal"/>), once a server answered; <see langword="null"/> otherwise.</summary>
    public string? Refused { get; private set; }

    /// <summary>Checks the forced sharded mode against the servers <paramref name="connection"/> reached (<see cref="Refused"/>); returns whether a server answered.</summary>
    public bool Check(IConnectionMultiplexer connection)
    {
        if (Refused is not null || Volatile.Read(ref _checked) == 1)
        {
            return true;
        }

        var servers = connection.GetServers().Where(s => s.IsConnected).ToArray();
        if (servers.Length == 0)
        {
            return false;
        }

        Refused = Refusal(_configured, servers.Select(s => (s.EndPoint.ToString() ?? "?", s.Version)));
        if (Refused is null)
        {
            Volatile.Write(ref _checked, 1);
        }

        return true;
    }

    /// <summary>The refusal, the first time it is asked for once known (to log it once, whichever path found it first).</summary>
    public bool TryTakeRefusal(out string refusal)
    {
        refusal = Refused!;
        return Refused is not null && Interlocked.Exchange(ref _reported, 1) == 0;
    }

    /// <summary>Decides the mode (when it is automatic and not yet decided) from what <paramref name="connection"/> knows of its servers; returns whether it is decided.</summary>
    public bool TryDecide(IConnectionMultiplexer connection)
    {
        if (Volatile.Read(ref _mode) != 0)
        {
            return true;
        }

        var servers = connection.GetServers().Where(s => s.IsConnected).ToArray();
        if (servers.Length == 0)
        {
            return false;
        }

        var sharded = servers.All(s => s.ServerType == ServerType.Cluster && s.Version >= Sharding);
        Interlocked.CompareExchange(ref _mode, sharded ? 2 : 1, 0);
        return true;
    }

    /// <summary>The guild channel <paramref name="name"/> for subscribing; throws a connection error (retried like one) while the mode is not decided.</summary>
    public RedisChannel Channel(IConnectionMultiplexer connection, string name) => Decided(connection) == 2 ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);

    /// <summary>The publish script that uses this mode's publish command; throws a connection error (retried like one) while the mode is not decided.</summary>
    public string PublishScript(IConnectionMultiplexer connection) => Decided(connection) == 2 ? RedisScripts.PublishSharded : RedisScripts.Publish;

    private int Decided(IConnectionMultiplexer connection)
    {
        if (!TryDecide(connection) || (_configured == true && Refused is null && !Check(connection)))
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "No Redis server answered yet: whether pub/sub is sharded is not decided.");
        }

        // Forced on against a server that cannot do it, and Redis was unreachable at start-up (otherwise the start failed):
        // every publish and subscribe fails with the reason, not executed (the outbox holds them), which the health check
        // shows and the broker logged at Error once.
        return Refused is { } refused ? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, refused) : Volatile.Read(ref _mode);
    }
}
