using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>The store used when none is configured: no role has overrides, so owners and administrators see everything.</summary>
internal sealed class EmptyPermissionStore : IDashboardPermissionStore
{
    public ValueTask<IReadOnlyList<DashboardPermission>> GetPermissionsAsync(string guildId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<DashboardPermission>>([]);

    public void Invalidate(string guildId)
    {
    }
}
