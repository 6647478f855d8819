using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.SampleHost.Plugins.Modmail;
using LiveUpdates.SampleHost.Plugins.Tags;

namespace LiveUpdates.SampleHost.Data;

/// <summary>
/// The sample bot's database, in memory. It is one singleton so that a test can hand the same instance to a
/// restarted host, as a real bot's MongoDB outlives a restart of the bot process.
/// </summary>
public sealed class SampleDatabase
{
    private long _nextId;

    public ConcurrentDictionary<string, JsonObject> ModerationConfigs { get; } = new(StringComparer.Ordinal);

    public GuildTable<ModerationRule> Rules { get; } = new();

    public GuildTable<Infraction> Infractions { get; } = new();

    public GuildTable<ModmailConversation> Conversations { get; } = new();

    public GuildTable<ModmailMessage> Messages { get; } = new();

    public GuildTable<Tag> Tags { get; } = new();

    /// <summary>A new id, unique across every table (a stand-in for Mongo's ObjectId).</summary>
    public string NewId() => Interlocked.Increment(ref _nextId).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
}
