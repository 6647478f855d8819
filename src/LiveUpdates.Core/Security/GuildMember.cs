namespace LiveUpdates.Security;

/// <summary>A user's membership of a guild, as the bot sees it.</summary>
/// <param name="Roles">The member's roles with their positions in the guild's role list (higher is more senior).</param>
/// <param name="IsOwner">Whether the member owns the guild: the owner sees everything.</param>
/// <param name="IsAdministrator">Whether one of the member's roles has Discord's Administrator permission.</param>
public sealed record GuildMember(IReadOnlyList<MemberRole> Roles, bool IsOwner = false, bool IsAdministrator = false);

/// <summary>One role of a member.</summary>
/// <param name="RoleId">The Discord role id.</param>
/// <param name="Position">The role's position in the guild; the highest-positioned role with an opinion decides.</param>
public readonly record struct MemberRole(string RoleId, int Position);
