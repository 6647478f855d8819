using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace LiveUpdates.SampleHost.Plugins.Moderation;

/// <summary>
/// The moderation plugin's config store: in memory here, a database in a real bot. Every write is followed
/// by one broadcast line, as the seed plan's section 5.3 shows.
/// </summary>
public sealed class ModerationConfigService(IBroadcaster broadcaster)
{
    private readonly ConcurrentDictionary<string, JsonObject> _configs = new(StringComparer.Ordinal);

    public JsonObject Get(string guildId) =>
        _configs.TryGetValue(guildId, out var config) ? (JsonObject)config.DeepClone() : new JsonObject();

    public JsonObject Save(string guildId, JsonObject config, string? updatedBy)
    {
        var saved = (JsonObject)config.DeepClone();
        _configs[guildId] = saved;

        // Emit right after the write. Returns at once; never throws for delivery problems.
        broadcaster.Broadcast(guildId, LiveEvents.Moderation.ConfigUpdated, new { config = saved, updatedBy });
        return (JsonObject)saved.DeepClone();
    }
}
