using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// Resolves a member's dashboard permissions in one guild, with the bot dashboard's rules (docs/security.md, "Who may see what"):
/// <list type="number">
/// <item>The guild owner is allowed everything.</item>
/// <item>The default is allow for administrators and deny for everyone else; but the reserved key <c>_deny_access</c>
/// on the highest-positioned role that sets it, when <c>"allow"</c> (deny-access switched on), strips the administrator default.</item>
/// <item>For each registered action: an action-level override (<c>moderation.manage_config</c>) beats a category-level one
/// (<c>moderation</c>); at each level the highest-positioned role with an opinion wins; at equal positions deny wins.
/// With no opinion at either level the default applies.</item>
/// <item>A category is allowed when at least one of its registered actions is; the guild can be opened when at least one
/// action is allowed (with no registry: when the default is allow).</item>
/// </list>
/// Documents of roles the member does not have are ignored; roles without a document have no opinion.
/// </summary>
internal static class DashboardPermissionResolver
{
    public const string DenyAccessKey = "_deny_access";

    public static GuildAccess Resolve(GuildMember member, IReadOnlyList<DashboardPermission> documents, IReadOnlyDictionary<string, List<string>> categories)
    {
        if (member.IsOwner)
        {
            return GuildAccess.Full;
        }

        // The member's roles that have a document, most senior first.
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var role in member.Roles)
        {
            positions[role.RoleId] = role.Position;
        }

        var ranked = documents
            .Where(d => positions.ContainsKey(d.DiscordRoleId))
            .Select(d => (Position: positions[d.DiscordRoleId], d.Overrides))
            .OrderByDescending(r => r.Position)
            .ToList();

        var denyAccess = Decide(ranked, DenyAccessKey);
        var defaultAllow = member.IsAdministrator && denyAccess != PermissionOverride.Allow;

        if (categories.Count == 0)
        {
            return defaultAllow ? GuildAccess.Full : GuildAccess.None;
        }

        var allowed = new List<string>();
        foreach (var (category, actions) in categories)
        {
            foreach (var action in actions)
            {
                var decision = Decide(ranked, action) ?? Decide(ranked, category);
                if (decision == PermissionOverride.Allow || (decision is null && defaultAllow))
                {
                    allowed.Add(category);
                    break;
                }
            }
        }

        return GuildAccess.ForCategories(allowed);
    }

    /// <summary>The opinion of the highest-positioned role that has one on <paramref name="key"/>; at equal positions deny wins.</summary>
    private static PermissionOverride? Decide(List<(int Position, IReadOnlyDictionary<string, PermissionOverride> Overrides)> ranked, string key)
    {
        PermissionOverride? decision = null;
        int? decidedAt = null;
        foreach (var (position, overrides) in ranked)
        {
            if (decidedAt is { } at && position < at)
            {
                break;
            }

            if (overrides.TryGetValue(key, out var value))
            {
                decidedAt = position;
                decision = decision == PermissionOverride.Deny ? PermissionOverride.Deny : value;
            }
        }

        return decision;
    }
}
