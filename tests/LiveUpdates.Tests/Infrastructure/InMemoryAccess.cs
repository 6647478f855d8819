using System.Collections.Concurrent;
using LiveUpdates.Security;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>A member source whose guild memberships a test sets and changes at will.</summary>
internal sealed class InMemoryMemberSource : IGuildMemberSource
{
    private readonly ConcurrentDictionary<(string Guild, string User), GuildMember> _members = new();

    public void Set(string guildId, string userId, GuildMember? member)
    {
        if (member is null)
        {
            _members.TryRemove((guildId, userId), out _);
        }
        else
        {
            _members[(guildId, userId)] = member;
        }
    }

    public ValueTask<IReadOnlyList<string>> GetGuildIdsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. _members.Keys.Where(k => k.User == user.UserId).Select(k => k.Guild).Order(StringComparer.Ordinal)]);

    public ValueTask<GuildMember?> GetMemberAsync(string guildId, AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_members.GetValueOrDefault((guildId, user.UserId)));
}

/// <summary>A permission store whose documents a test sets and changes at will.</summary>
internal sealed class InMemoryPermissionStore : IDashboardPermissionStore
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<DashboardPermission>> _documents = new();

    public int Invalidations { get; private set; }

    public void Set(string guildId, params DashboardPermission[] documents) => _documents[guildId] = documents;

    public ValueTask<IReadOnlyList<DashboardPermission>> GetPermissionsAsync(string guildId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_documents.GetValueOrDefault(guildId) ?? []);

    public void Invalidate(string guildId) => Invalidations++;
}

internal static class Perm
{
    public static DashboardPermission Role(string guildId, string roleId, params (string Key, PermissionOverride Value)[] overrides) =>
        new(guildId, roleId, $"role {roleId}", overrides.ToDictionary(o => o.Key, o => o.Value));

    public static (string, PermissionOverride) Allow(string key) => (key, PermissionOverride.Allow);

    public static (string, PermissionOverride) Deny(string key) => (key, PermissionOverride.Deny);
}
