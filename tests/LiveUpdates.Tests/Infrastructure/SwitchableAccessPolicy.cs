using System.Collections.Concurrent;
using LiveUpdates.Security;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>Each user sees the guilds a test allows, fully, until the test says otherwise; counts the access checks per user.</summary>
internal sealed class SwitchableAccessPolicy : IGuildAccessPolicy
{
    private readonly ConcurrentDictionary<(string User, string Guild), bool> _allowed = new();
    private readonly ConcurrentDictionary<string, int> _checks = new();

    public void Set(string userId, string guildId, bool allowed) => _allowed[(userId, guildId)] = allowed;

    /// <summary>Gets how many times the access of <paramref name="userId"/> was checked.</summary>
    public int ChecksOf(string userId) => _checks.GetValueOrDefault(userId);

    public ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. _allowed.Where(a => a.Key.User == user.UserId && a.Value).Select(a => a.Key.Guild)]);

    public ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken)
    {
        _checks.AddOrUpdate(user.UserId, 1, (_, n) => n + 1);
        return ValueTask.FromResult(_allowed.GetValueOrDefault((user.UserId, guildId)) ? GuildAccess.Full : GuildAccess.None);
    }
}
