using System.Text.Json;
using LiveUpdates.Security;

namespace LiveUpdates.SampleHost.Security;

/// <summary>
/// The sample's stand-in for a Discord client's member cache: a user is an administrator of every guild listed in
/// their token's <c>guilds</c> claim, so the printed development token works, unless a moderator removed them
/// (<see cref="SampleMemberCache"/>). A real bot answers from its cache.
/// </summary>
public sealed class TokenGuildsMemberSource(SampleMemberCache members) : IGuildMemberSource
{
    public ValueTask<IReadOnlyList<string>> GetGuildIdsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>(Guilds(user));

    public ValueTask<GuildMember?> GetMemberAsync(string guildId, AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Guilds(user).Contains(guildId) ? new GuildMember([], IsOwner: false, IsAdministrator: true) : null);

    private List<string> Guilds(AuthenticatedUser user) =>
        user.Claims.ValueKind == JsonValueKind.Object && user.Claims.TryGetProperty("guilds", out var guilds) && guilds.ValueKind == JsonValueKind.Array
            ? [.. guilds.EnumerateArray().Where(g => g.ValueKind == JsonValueKind.String).Select(g => g.GetString()!).Where(g => members.IsMember(g, user.UserId))]
            : [];
}
