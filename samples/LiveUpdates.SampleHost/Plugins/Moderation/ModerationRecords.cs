using System.Text.Json.Nodes;
using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Moderation;

/// <summary>An auto-mod rule. <see cref="Type"/>: <c>keyword</c>, <c>invite_links</c>, <c>mention_spam</c> or <c>caps</c>; <see cref="Action"/>: <c>warn</c>, <c>mute</c>, <c>kick</c> or <c>ban</c>.</summary>
public sealed record ModerationRule(
    string Id,
    string Name,
    string Type,
    string? Pattern,
    string Action,
    int Points,
    bool Enabled,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt) : IGuildRecord;

/// <summary>An infraction: raised by auto-mod (<see cref="Source"/> <c>automod</c>, with the <see cref="RuleId"/>) or by a moderator (<c>manual</c>).</summary>
public sealed record Infraction(
    string Id,
    string Type,
    string UserId,
    string UserName,
    string ModeratorId,
    string Reason,
    int Points,
    string Source,
    string? RuleId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt) : IGuildRecord;

/// <summary>Payload of <c>moderation:config_updated</c>.</summary>
[LiveEventPayload(LiveEvents.Moderation.ConfigUpdated)]
public sealed record ModerationConfigUpdated(JsonObject Config, string? UpdatedBy);

/// <summary>Payload of <c>moderation:rule_created</c>.</summary>
[LiveEventPayload(LiveEvents.Moderation.RuleCreated)]
public sealed record RuleCreated(ModerationRule Rule, string? CreatedBy);

/// <summary>Payload of <c>moderation:rule_updated</c>: the rule after the change and the names of the fields that changed.</summary>
[LiveEventPayload(LiveEvents.Moderation.RuleUpdated)]
public sealed record RuleUpdated(ModerationRule Rule, IReadOnlyList<string> Changes, string? UpdatedBy);

/// <summary>Payload of <c>moderation:rule_deleted</c>.</summary>
[LiveEventPayload(LiveEvents.Moderation.RuleDeleted)]
public sealed record RuleDeleted(string RuleId, string? DeletedBy);

/// <summary>Payload of <c>moderation:infraction_created</c>, as in the seed's section 5.4.</summary>
[LiveEventPayload(LiveEvents.Moderation.InfractionCreated)]
public sealed record InfractionCreated(Infraction Infraction);
