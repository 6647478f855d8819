using System.Text.Json.Nodes;
using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Moderation;

/// <summary>
/// The moderation plugin's config: every write is followed by one broadcast line, as the seed plan's
/// section 5.3 shows.
/// </summary>
public sealed class ModerationConfigService(SampleDatabase db, IBroadcaster broadcaster)
{
    public JsonObject Get(string guildId) =>
        db.ModerationConfigs.TryGetValue(guildId, out var config) ? (JsonObject)config.DeepClone() : new JsonObject();

    public JsonObject Save(string guildId, JsonObject config, string? updatedBy)
    {
        var saved = (JsonObject)config.DeepClone();
        db.ModerationConfigs[guildId] = saved;

        // Emit right after the write. Returns at once; never throws for delivery problems.
        broadcaster.Broadcast(guildId, LiveEvents.Moderation.ConfigUpdated, new ModerationConfigUpdated(saved, updatedBy));
        return (JsonObject)saved.DeepClone();
    }
}
