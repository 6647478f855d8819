using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.SampleHost;

/// <summary>Mints HS256 session tokens the way a dashboard would, for local development only.</summary>
public static class DevelopmentTokens
{
    public static string Create(string secret, string userId, IReadOnlyList<string> guilds, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>
            {
                ["sub"] = userId,
                ["name"] = "Sample dashboard user",
                ["guilds"] = guilds.ToArray(),
            },
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}
