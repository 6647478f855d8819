using System.Collections.Concurrent;
using LiveUpdates.Security;
using MongoDB.Bson;
using MongoDB.Driver;

namespace LiveUpdates.Mongo.Internal;

/// <summary>
/// Reads <c>dashboardpermissions</c> documents (<c>guildId</c>, <c>discordRoleId</c>, <c>roleName</c>, <c>overrides</c>)
/// with MongoDB.Driver, one query per guild, cached for <see cref="MongoPermissionStoreOptions.CacheDuration"/>. Concurrent
/// readers of an uncached guild share one query; a failed query is not cached. Expected index: <c>{ guildId: 1 }</c>
/// (the bot's unique <c>{ guildId: 1, discordRoleId: 1 }</c> serves too).
/// </summary>
internal sealed class MongoDashboardPermissionStore(IMongoCollection<BsonDocument> collection, TimeSpan cacheDuration, TimeProvider time) : IDashboardPermissionStore, IDependencyHealth
{
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private volatile string? _lastError; // set by a failed query, cleared by the next one that succeeds

    /// <summary>Unavailable from a failed query until one succeeds again (failures are not cached, so the next check retries).</summary>
    public DependencyHealth GetHealth() => _lastError is { } error
        ? new DependencyHealth(false, $"The last query of dashboardpermissions failed: {error}")
        : new DependencyHealth(true, "MongoDB answered the last query.");

    public async ValueTask<IReadOnlyList<DashboardPermission>> GetPermissionsAsync(string guildId, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        while (true)
        {
            if (_cache.TryGetValue(guildId, out var cached) && time.GetElapsedTime(cached.LoadedAt, now) < cacheDuration)
            {
                try
                {
                    return await cached.Documents.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    _cache.TryRemove(new KeyValuePair<string, Entry>(guildId, cached)); // do not cache failures
                    throw;
                }
            }

            var entry = new Entry(LoadAsync(guildId), now);
            if (cached is null ? _cache.TryAdd(guildId, entry) : _cache.TryUpdate(guildId, entry, cached))
            {
                continue; // read it through the cache, so a failure is dropped the same way
            }
        }
    }

    public void Invalidate(string guildId) => _cache.TryRemove(guildId, out _);

    private async Task<IReadOnlyList<DashboardPermission>> LoadAsync(string guildId)
    {
        await Task.Yield(); // never run the query on the caller's stack while it holds the cache slot
        try
        {
            var documents = await QueryAsync(guildId).ConfigureAwait(false);
            _lastError = null;
            return documents;
        }
        catch (Exception ex)
        {
            _lastError = ex.GetType().Name + ": " + ex.Message;
            throw;
        }
    }

    private async Task<IReadOnlyList<DashboardPermission>> QueryAsync(string guildId)
    {
        var filter = Builders<BsonDocument>.Filter.Eq("guildId", guildId);
        using var cursor = await collection.FindAsync(filter, options: null, CancellationToken.None).ConfigureAwait(false);
        var result = new List<DashboardPermission>();
        while (await cursor.MoveNextAsync(CancellationToken.None).ConfigureAwait(false))
        {
            foreach (var document in cursor.Current)
            {
                if (Map(document) is { } permission)
                {
                    result.Add(permission);
                }
            }
        }

        return result;
    }

    /// <summary>Maps one stored document; a document without a role id is skipped, values other than "allow"/"deny" inherit.</summary>
    internal static DashboardPermission? Map(BsonDocument document)
    {
        if (!document.TryGetValue("discordRoleId", out var role) || !role.IsString || !document.TryGetValue("guildId", out var guild) || !guild.IsString)
        {
            return null;
        }

        var overrides = new Dictionary<string, PermissionOverride>(StringComparer.Ordinal);
        if (document.TryGetValue("overrides", out var stored) && stored.IsBsonDocument)
        {
            foreach (var element in stored.AsBsonDocument)
            {
                if (!element.Value.IsString)
                {
                    continue;
                }

                switch (element.Value.AsString)
                {
                    case "allow":
                        overrides[element.Name] = PermissionOverride.Allow;
                        break;
                    case "deny":
                        overrides[element.Name] = PermissionOverride.Deny;
                        break;
                }
            }
        }

        var roleName = document.TryGetValue("roleName", out var name) && name.IsString ? name.AsString : null;
        return new DashboardPermission(guild.AsString, role.AsString, roleName, overrides);
    }

    private sealed record Entry(Task<IReadOnlyList<DashboardPermission>> Documents, long LoadedAt);
}
