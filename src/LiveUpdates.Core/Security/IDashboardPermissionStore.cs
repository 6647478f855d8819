namespace LiveUpdates.Security;

/// <summary>Reads the <see cref="DashboardPermission"/> documents of a guild. The Hosting package provides a MongoDB store.</summary>
public interface IDashboardPermissionStore
{
    /// <summary>Gets every permission document of <paramref name="guildId"/> (one per role that has overrides).</summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The documents, possibly cached for a bounded time.</returns>
    ValueTask<IReadOnlyList<DashboardPermission>> GetPermissionsAsync(string guildId, CancellationToken cancellationToken);

    /// <summary>Drops anything cached for <paramref name="guildId"/>, so the next read sees the stored documents.</summary>
    /// <param name="guildId">The guild.</param>
    void Invalidate(string guildId);
}
