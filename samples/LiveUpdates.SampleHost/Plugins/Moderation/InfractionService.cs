using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Moderation;

/// <summary>What a moderator (or auto-mod) records.</summary>
public sealed record InfractionDraft(string? Type, string? UserId, string? UserName, string? ModeratorId, string? Reason, int? Points);

/// <summary>Infractions, raised by auto-mod (the bot) or by a moderator through the API. Write first, then one broadcast line.</summary>
public sealed class InfractionService(SampleDatabase db, IBroadcaster broadcaster, TimeProvider time)
{
    public static readonly string[] Types = ["warn", "mute", "kick", "ban"];

    /// <summary>The newest <paramref name="limit"/> infractions, newest first.</summary>
    public IReadOnlyList<Infraction> Recent(string guildId, int limit) =>
        db.Infractions.List(guildId).Reverse().Take(limit).ToList();

    public Infraction Create(string guildId, InfractionDraft draft, string source, string? ruleId = null)
    {
        var now = time.GetUtcNow();
        var type = draft.Type ?? "warn";
        var infraction = db.Infractions.Upsert(guildId, new Infraction(
            db.NewId(), type, draft.UserId!, draft.UserName ?? draft.UserId!, draft.ModeratorId ?? "system",
            draft.Reason ?? "", draft.Points ?? 1, source, ruleId, now,
            type == "mute" ? now.AddHours(1) : null));

        broadcaster.Broadcast(guildId, LiveEvents.Moderation.InfractionCreated, new InfractionCreated(infraction));
        return infraction;
    }

    /// <summary>Why <paramref name="draft"/> cannot be recorded, or null.</summary>
    public static string? Validate(InfractionDraft draft) =>
        string.IsNullOrWhiteSpace(draft.UserId) ? "userId is required."
        : draft.Type is not null && !Types.Contains(draft.Type) ? $"type must be one of {string.Join(", ", Types)}."
        : draft.Points is < 0 or > 100 ? "points must be 0 to 100."
        : draft.Reason is { Length: > 500 } ? "reason must be at most 500 characters."
        : null;
}
