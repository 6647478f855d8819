using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Tags;

/// <summary>What the dashboard sends to create or edit a tag.</summary>
public sealed record TagDraft(string? Name, string? Content);

/// <summary>Tags: create, update, delete. Write first, then one broadcast line.</summary>
public sealed class TagService(SampleDatabase db, IBroadcaster broadcaster, TimeProvider time)
{
    public IReadOnlyList<Tag> List(string guildId) => db.Tags.List(guildId).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();

    /// <summary>Creates the tag; null when a tag of that name exists.</summary>
    public Tag? Create(string guildId, string name, string content, string? createdBy)
    {
        if (db.Tags.List(guildId).Any(t => t.Name == name))
        {
            return null;
        }

        var tag = db.Tags.Upsert(guildId, new Tag(db.NewId(), name, content, createdBy, time.GetUtcNow()));
        broadcaster.Broadcast(guildId, LiveEvents.Tags.TagCreated, new TagChanged(tag));
        return tag;
    }

    public Tag? Update(string guildId, string tagId, TagDraft draft)
    {
        var tag = db.Tags.Update(guildId, tagId, t => t with
        {
            Name = draft.Name ?? t.Name,
            Content = draft.Content ?? t.Content,
            UpdatedAt = time.GetUtcNow(),
        });

        if (tag is not null)
        {
            broadcaster.Broadcast(guildId, LiveEvents.Tags.TagUpdated, new TagChanged(tag));
        }

        return tag;
    }

    public bool Delete(string guildId, string tagId)
    {
        if (db.Tags.Remove(guildId, tagId) is null)
        {
            return false;
        }

        broadcaster.Broadcast(guildId, LiveEvents.Tags.TagDeleted, new TagDeleted(tagId));
        return true;
    }

    /// <summary>Why <paramref name="draft"/> cannot be saved, or null; <paramref name="creating"/> requires both fields.</summary>
    public static string? Validate(TagDraft draft, bool creating) =>
        (creating || draft.Name is not null) && (string.IsNullOrWhiteSpace(draft.Name) || draft.Name.Length > 32 || !draft.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            ? "name must be 1 to 32 letters, digits, '-' or '_'."
        : (creating || draft.Content is not null) && (string.IsNullOrWhiteSpace(draft.Content) || draft.Content.Length > 2000)
            ? "content must be 1 to 2000 characters."
        : null;
}
