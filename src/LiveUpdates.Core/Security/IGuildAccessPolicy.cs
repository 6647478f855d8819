namespace LiveUpdates.Security;

/// <summary>
/// Decides which guilds an authenticated user may open. The built-in policy reads the token's
/// <see cref="LiveUpdatesOptions.GuildsClaim"/> claim (an array of guild ids); hosts replace it with one that
/// follows the bot's own dashboard permission model.
/// </summary>
public interface IGuildAccessPolicy
{
    /// <summary>Lists the guilds the user may open, sent to the client in <c>authenticated</c>.</summary>
    /// <param name="user">The authenticated user.</param>
    /// <param name="cancellationToken">Cancelled when the connection closes or the server stops.</param>
    /// <returns>The guild ids.</returns>
    ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken);

    /// <summary>Decides whether the user may subscribe to <paramref name="guildId"/>.</summary>
    /// <param name="user">The authenticated user.</param>
    /// <param name="guildId">A syntactically valid guild id.</param>
    /// <param name="cancellationToken">Cancelled when the connection closes or the server stops.</param>
    /// <returns><see langword="true"/> to allow the subscription; otherwise the client gets <see cref="LiveErrorCodes.Forbidden"/>.</returns>
    ValueTask<bool> CanSubscribeAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken);
}
