namespace LiveUpdates.Security;

/// <summary>
/// Supplies what the bot knows about guild members: which guilds a user shares with the bot, and a member's
/// roles (with positions), owner flag and administrator flag. Hosts implement it over their Discord client's
/// cache. Registering one switches the built-in access policy to the dashboard permission model.
/// </summary>
public interface IGuildMemberSource
{
    /// <summary>Lists the guilds that <paramref name="user"/> shares with the bot.</summary>
    /// <param name="user">The dashboard user; <see cref="AuthenticatedUser.UserId"/> is usually a Discord user id.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The guild ids.</returns>
    ValueTask<IReadOnlyList<string>> GetGuildIdsAsync(AuthenticatedUser user, CancellationToken cancellationToken);

    /// <summary>Gets <paramref name="user"/>'s membership of <paramref name="guildId"/>.</summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="user">The dashboard user.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The member, or <see langword="null"/> when the user is not in the guild (or the bot is not).</returns>
    ValueTask<GuildMember?> GetMemberAsync(string guildId, AuthenticatedUser user, CancellationToken cancellationToken);
}
