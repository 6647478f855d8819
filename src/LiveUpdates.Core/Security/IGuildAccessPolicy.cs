namespace LiveUpdates.Security;

/// <summary>
/// Decides which guilds an authenticated user may open, and which features (permission categories) of each.
/// The built-in policies: with an <see cref="IGuildMemberSource"/> registered, the bot's dashboard permission
/// model (<see cref="DashboardAccessPolicy"/> over an <see cref="IDashboardPermissionStore"/>);
/// without one, the guilds listed in the token's <see cref="LiveUpdatesOptions.GuildsClaim"/> claim, with every feature.
/// </summary>
public interface IGuildAccessPolicy
{
    /// <summary>Lists the guilds the user may open, sent to the client in <c>authenticated</c>.</summary>
    /// <param name="user">The authenticated user.</param>
    /// <param name="cancellationToken">Cancelled when the connection closes or the server stops.</param>
    /// <returns>The guild ids.</returns>
    ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken);

    /// <summary>Resolves what the user may see of <paramref name="guildId"/>: whether it may subscribe, and which categories' events it receives.</summary>
    /// <param name="user">The authenticated user.</param>
    /// <param name="guildId">A syntactically valid guild id.</param>
    /// <param name="cancellationToken">Cancelled when the connection closes or the server stops.</param>
    /// <returns>The access; <see cref="GuildAccess.None"/> makes a subscription fail with <see cref="LiveErrorCodes.Forbidden"/>.</returns>
    ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken);

    /// <summary>
    /// Forgets anything cached about <paramref name="guildId"/>; called before open connections of the guild are
    /// re-resolved (a <c>dashboard:permissions_updated</c> broadcast, or <see cref="WebSocketManager.InvalidateGuildAccessAsync(string, CancellationToken)"/>).
    /// </summary>
    /// <param name="guildId">The guild whose permissions changed.</param>
    void Invalidate(string guildId)
    {
    }
}
