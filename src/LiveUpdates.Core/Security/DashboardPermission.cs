namespace LiveUpdates.Security;

/// <summary>
/// One document of the bot's <c>dashboardpermissions</c> collection: the dashboard overrides of one role in one guild.
/// </summary>
/// <param name="GuildId">The guild.</param>
/// <param name="DiscordRoleId">The role the overrides apply to.</param>
/// <param name="RoleName">The role's name when the document was saved (informational).</param>
/// <param name="Overrides">Keys are a category (<c>minecraft</c>), an action (<c>minecraft.manage_config</c>) or the reserved <c>_deny_access</c>; a missing key inherits.</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "The name of the bot's own model and collection (DashboardPermission, dashboardpermissions).")]
public sealed record DashboardPermission(string GuildId, string DiscordRoleId, string? RoleName, IReadOnlyDictionary<string, PermissionOverride> Overrides);

/// <summary>An explicit opinion of a role on a permission key.</summary>
public enum PermissionOverride
{
    /// <summary>The stored value <c>"allow"</c>.</summary>
    Allow,

    /// <summary>The stored value <c>"deny"</c>.</summary>
    Deny,
}
