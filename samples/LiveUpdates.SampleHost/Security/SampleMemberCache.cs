using System.Collections.Concurrent;

namespace LiveUpdates.SampleHost.Security;

/// <summary>
/// The sample's stand-in for the changes a Discord client's member cache sees: members a moderator removed from a
/// guild. A real bot's cache is updated by Discord's gateway before its handlers run; <see cref="TokenGuildsMemberSource"/>
/// answers from it, so a re-check after a removal refuses the guild.
/// </summary>
public sealed class SampleMemberCache
{
    private readonly ConcurrentDictionary<(string GuildId, string UserId), byte> _removed = new();

    public bool IsMember(string guildId, string userId) => !_removed.ContainsKey((guildId, userId));

    public void Remove(string guildId, string userId) => _removed[(guildId, userId)] = 0;

    public void Restore(string guildId, string userId) => _removed.TryRemove((guildId, userId), out _);
}
