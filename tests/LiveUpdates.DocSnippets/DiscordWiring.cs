using LiveUpdates.DocSnippets.DiscordNet;
using LiveUpdates.DocSnippets.DSharpPlus;

namespace LiveUpdates.DocSnippets;

/// <summary>
/// The revocation wiring of docs/security.md, written against small stand-ins of Discord.Net and DSharpPlus (below)
/// whose event signatures match the libraries', so the snippet compiles without either package.
/// </summary>
public static class DiscordWiring
{
    public static void DiscordNet(DiscordSocketClient client, WebSocketManager live)
    {
        #region security-revocation-discordnet
        // Discord.Net: a member who leaves, is banned or whose roles change is re-checked in that guild at once.
        client.UserLeft += (guild, user) => live.InvalidateMemberAccessAsync(guild.Id, user.Id);
        client.UserBanned += (user, guild) => live.InvalidateMemberAccessAsync(guild.Id, user.Id);
        client.GuildMemberUpdated += (before, after) => live.InvalidateMemberAccessAsync(after.Guild.Id, after.Id);
        #endregion
    }

    public static void DSharpPlus(DiscordClient discord, WebSocketManager live)
    {
        #region security-revocation-dsharpplus
        // DSharpPlus: the same three events.
        discord.GuildMemberRemoved += (_, e) => live.InvalidateMemberAccessAsync(e.Guild.Id, e.Member.Id);
        discord.GuildBanAdded += (_, e) => live.InvalidateMemberAccessAsync(e.Guild.Id, e.Member.Id);
        discord.GuildMemberUpdated += (_, e) => live.InvalidateMemberAccessAsync(e.Guild.Id, e.Member.Id);
        #endregion
    }

    public static async Task SignOut(WebSocketManager live, ulong userId)
    {
        #region security-revocation-signout
        // The user signed out of the dashboard, or the bot blocked them: every socket of theirs closes (4001), on every instance.
        await live.DisconnectUserAsync(userId);
        #endregion
    }
}
