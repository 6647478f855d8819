// Small stand-ins of Discord.Net and DSharpPlus for the snippets of DiscordWiring.cs: the event signatures match the
// libraries' (Discord.Net 3.x, DSharpPlus 4.x), so the wiring compiles without either package. Never raised.
#pragma warning disable CA1003, CA1711, CA1716, CS0067 // stand-ins shaped like the libraries' APIs, never raised

namespace LiveUpdates.DocSnippets.DiscordNet
{
    public class SocketGuild { public ulong Id { get; init; } }

    public class SocketUser { public ulong Id { get; init; } }

    public class SocketGuildUser : SocketUser { public SocketGuild Guild { get; init; } = new(); }

    public readonly struct Cacheable<TEntity, TId>;

    public class DiscordSocketClient
    {
        public event Func<SocketGuild, SocketUser, Task>? UserLeft;

        public event Func<SocketUser, SocketGuild, Task>? UserBanned;

        public event Func<Cacheable<SocketGuildUser, ulong>, SocketGuildUser, Task>? GuildMemberUpdated;
    }
}

namespace LiveUpdates.DocSnippets.DSharpPlus
{
    public delegate Task AsyncEventHandler<in TSender, in TArgs>(TSender sender, TArgs e);

    public class DiscordGuild { public ulong Id { get; init; } }

    public class DiscordMember { public ulong Id { get; init; } }

    public class GuildMemberEventArgs
    {
        public DiscordGuild Guild { get; init; } = new();

        public DiscordMember Member { get; init; } = new();
    }

    public class DiscordClient
    {
        public event AsyncEventHandler<DiscordClient, GuildMemberEventArgs>? GuildMemberRemoved;

        public event AsyncEventHandler<DiscordClient, GuildMemberEventArgs>? GuildBanAdded;

        public event AsyncEventHandler<DiscordClient, GuildMemberEventArgs>? GuildMemberUpdated;
    }
}
