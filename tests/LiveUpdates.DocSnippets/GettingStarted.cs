using LiveUpdates.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LiveUpdates.DocSnippets;

public static class GettingStarted
{
    public static async Task HostAsync(string[] args)
    {
        #region getting-started-host
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddLiveUpdates(builder.Configuration.GetSection("LiveUpdates")) // + WS_PORT, AUTH_SECRET
            .AddMongoPermissionStore(builder.Configuration.GetSection("LiveUpdates:Mongo")); // optional, + MONGODB_URI
        builder.Services.AddSingleton<IGuildMemberSource, DiscordCacheMemberSource>();    // optional: switches to the permission model (below)
        builder.Services.AddSingleton<ModerationConfigService>();
        await builder.Build().RunAsync();
        #endregion
    }

    public static async Task ReadmeHostAsync(string[] args)
    {
        #region readme-host
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddLiveUpdates(builder.Configuration.GetSection("LiveUpdates")); // + WS_PORT, AUTH_SECRET
        builder.Services.AddSingleton<ModerationConfigService>();
        await builder.Build().RunAsync();
        #endregion
    }

    public static async Task WithoutHostAsync(string secret)
    {
        #region getting-started-without-host
        await using var server = new WebSocketManager(new LiveUpdatesOptions { AuthSecret = secret });
        await server.StartAsync();
        Broadcast.SetBroadcaster(server);
        // … the bot runs; plugins call Broadcast.ToGuild(guildId, eventName, data) …
        Broadcast.ClearBroadcaster(server); // clears the facade only if it still points at this server
        await server.StopAsync();
        #endregion
    }
}

#region getting-started-service
public sealed class ModerationConfigService(IBroadcaster broadcaster, IConfigStore store)
{
    public async Task SaveAsync(ulong guildId, ModerationConfig config, string userId) // guild.Id, as Discord libraries give it
    {
        await store.SaveAsync(guildId, config);                                   // the write
        broadcaster.Broadcast(guildId, LiveEvents.Moderation.ConfigUpdated,      // then one line
            new { config, updatedBy = userId });
    }
}
#endregion

#region plugins-confirmed-broadcast
public sealed class BanService(IBroadcaster broadcaster, IBanStore store)
{
    public async Task BanAsync(ulong guildId, Infraction ban, CancellationToken cancellationToken)
    {
        await store.SaveAsync(guildId, ban);
        // Waits until the broker has the event (for Redis: Redis numbered it); throws if it never got a position.
        var position = await broadcaster.BroadcastAsync(guildId, LiveEvents.Moderation.InfractionCreated, ban, cancellationToken);
        await store.MarkAnnouncedAsync(guildId, ban, position.Seq);
    }
}
#endregion

/// <summary>What the confirmed-broadcast snippet assumes of the bot: its own store of bans.</summary>
public interface IBanStore
{
    Task SaveAsync(ulong guildId, Infraction ban);

    Task MarkAnnouncedAsync(ulong guildId, Infraction ban, long seq);
}

/// <summary>An infraction, as the bot stores it.</summary>
public sealed record Infraction(string UserId, string Reason);

/// <summary>What the snippets assume of the bot: its own store.</summary>
public interface IConfigStore
{
    Task SaveAsync(ulong guildId, ModerationConfig config);
}

/// <summary>A plugin's configuration, as the bot stores it.</summary>
public sealed record ModerationConfig(bool Automod);

/// <summary>Stands in for the bot's member source over its Discord cache.</summary>
public sealed class DiscordCacheMemberSource : IGuildMemberSource
{
    public ValueTask<IReadOnlyList<string>> GetGuildIdsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([]);

    public ValueTask<GuildMember?> GetMemberAsync(string guildId, AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<GuildMember?>(null);
}
