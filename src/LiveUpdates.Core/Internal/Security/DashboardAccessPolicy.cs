using LiveUpdates.Internal.Naming;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// The access policy of the bot's dashboard permission model: membership from the host's
/// <see cref="IGuildMemberSource"/>, overrides from the <see cref="IDashboardPermissionStore"/>, resolved by
/// <see cref="DashboardPermissionResolver"/> over <see cref="LiveUpdatesOptions.PermissionCategories"/>.
/// </summary>
internal sealed class DashboardAccessPolicy(IGuildMemberSource members, IDashboardPermissionStore store, LiveUpdatesOptions options) : IGuildAccessPolicy
{
    public async ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken)
    {
        var guilds = new List<string>();
        foreach (var guildId in await members.GetGuildIdsAsync(user, cancellationToken).ConfigureAwait(false))
        {
            if (LiveNames.IsValidGuildId(guildId) && (await GetAccessAsync(user, guildId, cancellationToken).ConfigureAwait(false)).CanOpen)
            {
                guilds.Add(guildId);
            }
        }

        return guilds;
    }

    public async ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken)
    {
        var member = await members.GetMemberAsync(guildId, user, cancellationToken).ConfigureAwait(false);
        if (member is null)
        {
            return GuildAccess.None;
        }

        var documents = member.IsOwner ? [] : await store.GetPermissionsAsync(guildId, cancellationToken).ConfigureAwait(false);
        return DashboardPermissionResolver.Resolve(member, documents, options.PermissionCategories);
    }

    public void Invalidate(string guildId) => store.Invalidate(guildId);
}
