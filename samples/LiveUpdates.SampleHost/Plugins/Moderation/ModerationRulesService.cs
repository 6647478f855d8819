using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Moderation;

/// <summary>What the dashboard sends to create a rule.</summary>
public sealed record RuleDraft(string? Name, string? Type, string? Pattern, string? Action, int? Points, bool? Enabled);

/// <summary>What the dashboard sends to change or toggle a rule: only the fields it names change.</summary>
public sealed record RulePatch(string? Name, string? Pattern, string? Action, int? Points, bool? Enabled);

/// <summary>Auto-mod rules: create, update/toggle, delete. Write first, then one broadcast line.</summary>
public sealed class ModerationRulesService(SampleDatabase db, IBroadcaster broadcaster, TimeProvider time)
{
    public static readonly string[] Types = ["keyword", "invite_links", "mention_spam", "caps"];
    public static readonly string[] Actions = ["warn", "mute", "kick", "ban"];

    public IReadOnlyList<ModerationRule> List(string guildId) => db.Rules.List(guildId);

    public ModerationRule Create(string guildId, RuleDraft draft, string? createdBy)
    {
        var now = time.GetUtcNow();
        var rule = db.Rules.Upsert(guildId, new ModerationRule(
            db.NewId(), draft.Name!.Trim(), draft.Type ?? "keyword", draft.Pattern, draft.Action ?? "warn",
            draft.Points ?? 1, draft.Enabled ?? true, now, now));

        broadcaster.Broadcast(guildId, LiveEvents.Moderation.RuleCreated, new RuleCreated(rule, createdBy));
        return rule;
    }

    /// <summary>Applies <paramref name="patch"/>; null when the rule does not exist.</summary>
    public ModerationRule? Update(string guildId, string ruleId, RulePatch patch, string? updatedBy)
    {
        var changes = new List<string>();
        var rule = db.Rules.Update(guildId, ruleId, r =>
        {
            changes.Clear();
            var next = r with
            {
                Name = Changed(nameof(r.Name), r.Name, patch.Name?.Trim())!,
                Pattern = Changed(nameof(r.Pattern), r.Pattern, patch.Pattern),
                Action = Changed(nameof(r.Action), r.Action, patch.Action)!,
                Points = ChangedValue(nameof(r.Points), r.Points, patch.Points),
                Enabled = ChangedValue(nameof(r.Enabled), r.Enabled, patch.Enabled),
            };
            return changes.Count == 0 ? r : next with { UpdatedAt = time.GetUtcNow() };
        });

        // Nothing written, nothing to tell: a toggle to the value a rule already has is not an event.
        if (rule is not null && changes.Count > 0)
        {
            broadcaster.Broadcast(guildId, LiveEvents.Moderation.RuleUpdated, new RuleUpdated(rule, changes, updatedBy));
        }

        return rule;

        string? Changed(string field, string? current, string? requested) =>
            requested is null || requested == current ? current : Note(field, requested);

        T ChangedValue<T>(string field, T current, T? requested)
            where T : struct =>
            requested is not { } value || EqualityComparer<T>.Default.Equals(current, value) ? current : Note(field, value);

        TValue Note<TValue>(string field, TValue value)
        {
            changes.Add(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(field));
            return value;
        }
    }

    public bool Delete(string guildId, string ruleId, string? deletedBy)
    {
        if (db.Rules.Remove(guildId, ruleId) is null)
        {
            return false;
        }

        broadcaster.Broadcast(guildId, LiveEvents.Moderation.RuleDeleted, new RuleDeleted(ruleId, deletedBy));
        return true;
    }

    /// <summary>Why <paramref name="draft"/> cannot be saved, or null.</summary>
    public static string? Validate(RuleDraft draft) =>
        string.IsNullOrWhiteSpace(draft.Name) ? "name is required." : Validate(new RulePatch(draft.Name, draft.Pattern, draft.Action, draft.Points, draft.Enabled), draft.Type);

    /// <summary>Why <paramref name="patch"/> cannot be applied, or null.</summary>
    public static string? Validate(RulePatch patch, string? type = null) =>
        patch.Name is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > 100) ? "name must be 1 to 100 characters."
        : type is not null && !Types.Contains(type) ? $"type must be one of {string.Join(", ", Types)}."
        : patch.Action is not null && !Actions.Contains(patch.Action) ? $"action must be one of {string.Join(", ", Actions)}."
        : patch.Points is < 0 or > 100 ? "points must be 0 to 100."
        : patch.Pattern is { Length: > 200 } ? "pattern must be at most 200 characters."
        : null;
}
