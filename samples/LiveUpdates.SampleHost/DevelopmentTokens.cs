using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.SampleHost;

/// <summary>
/// Mints connection tokens (docs/security.md) the way a dashboard's server does, for local development only: HS256 with
/// the server's <see cref="LiveUpdatesOptions.ConnectionTokenKey"/>, <c>typ: liveupdates+jwt</c>, its audience and issuer.
/// </summary>
public static class DevelopmentTokens
{
    public static string Create(LiveUpdatesOptions options, string userId, IReadOnlyList<string> guilds, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            TokenType = "liveupdates+jwt",
            Audience = options.ConnectionTokenAudience,
            Issuer = options.ConnectionTokenIssuer,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = userId,
                ["name"] = "Sample dashboard user",
                ["guilds"] = guilds.ToArray(),
            },
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(options.ConnectionTokenKey!)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}
