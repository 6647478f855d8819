using System.Text.Json;
using LiveUpdates.Internal.Naming;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>The built-in guild access policy: the user may open the guilds listed in the token's guilds claim; a refusal says whether the claim lacks the guild or is missing.</summary>
internal sealed class TokenClaimGuildAccessPolicy : IGuildAccessPolicy
{
    private readonly string _claim;

    public TokenClaimGuildAccessPolicy(LiveUpdatesOptions options) => _claim = options.GuildsClaim;

    public ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>(Read(user));

    public ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken)
    {
        var guilds = Read(user);
        foreach (var g in guilds)
        {
            if (string.Equals(g, guildId, StringComparison.Ordinal))
            {
                return ValueTask.FromResult(GuildAccess.Full);
            }
        }

        return ValueTask.FromResult(HasClaim(user)
            ? GuildAccess.Refused("not-in-token-guilds", $"the guild is not in the token's '{_claim}' claim ({guilds.Count} guild id(s) listed); add it where the dashboard makes the token")
            : GuildAccess.Refused("no-token-guilds", $"the token has no '{_claim}' array claim ({LiveUpdatesOptions.SectionName}:GuildsClaim), so this policy allows no guild; put the user's guild ids there, or register an IGuildMemberSource for the dashboard permission model"));
    }

    private bool HasClaim(AuthenticatedUser user) =>
        user.Claims is { ValueKind: JsonValueKind.Object } claims && claims.TryGetProperty(_claim, out var guilds) && guilds.ValueKind == JsonValueKind.Array;

    private List<string> Read(AuthenticatedUser user)
    {
        // One read: each parses the token's claims (AuthenticatedUser keeps them as UTF-8).
        var claims = user.Claims;
        if (claims.ValueKind != JsonValueKind.Object ||
            !claims.TryGetProperty(_claim, out var guilds) ||
            guilds.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        // Linear in the claim: the token's size bounds what one auth attempt costs (a List.Contains per id made a
        // token that lists 1,000 guilds cost ~10 ms of CPU per attempt, and a handful of sockets re-sending it
        // starved every other client).
        var count = guilds.GetArrayLength();
        var result = new List<string>(count);
        var seen = new HashSet<string>(count, StringComparer.Ordinal);
        foreach (var item in guilds.EnumerateArray())
        {
            if (TokenClaims.ReadId(item) is { } id && LiveNames.IsValidGuildId(id) && seen.Add(id))
            {
                result.Add(id);
            }
        }

        return result;
    }
}
