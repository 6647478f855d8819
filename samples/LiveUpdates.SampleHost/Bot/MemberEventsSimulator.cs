using LiveUpdates.SampleHost.Security;

namespace LiveUpdates.SampleHost.Bot;

/// <summary>
/// The bot's member-event handlers, simulated: where a real bot handles Discord's UserLeft/UserBanned/GuildMemberUpdated
/// (docs/security.md, "Revocation"), the sample raises them through <c>/dev/members/…</c>. Each updates the member cache
/// first, as Discord's gateway does, then asks LiveUpdates to re-check (or, signed out, to disconnect) that user.
/// </summary>
public sealed class MemberEventsSimulator(SampleMemberCache members, WebSocketManager live)
{
    /// <summary>A moderator removed (kicked or banned) the member: their dashboards lose the guild at once.</summary>
    public Task RemoveAsync(string guildId, string userId)
    {
        members.Remove(guildId, userId);
        return live.InvalidateMemberAccessAsync(guildId, userId);
    }

    /// <summary>The member is back (rejoined, or their roles changed so they may see the guild again): re-checked too.</summary>
    public Task RestoreAsync(string guildId, string userId)
    {
        members.Restore(guildId, userId);
        return live.InvalidateMemberAccessAsync(guildId, userId);
    }

    /// <summary>The user signed out of the dashboard, or was blocked: every socket of theirs closes (4001), on every instance.</summary>
    public Task SignOutAsync(string userId) => live.DisconnectUserAsync(userId);
}
