using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// Mints HS256 tokens, and broken ones, for tests. By default a connection token (typ <c>liveupdates+jwt</c>, aud
/// <c>liveupdates</c>) signed with <see cref="Secret"/>, which <see cref="TestServer"/> configures as the server's
/// <c>ConnectionTokenKey</c>.
/// </summary>
internal static class TestTokens
{
    public const string Secret = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    public const string OtherSecret = "another-secret-0123456789-abcdefghijklmnopqrstuv";

    /// <summary>A dashboard's session secret (AUTH_SECRET) in tests that need one besides the connection-token key.</summary>
    public const string DashboardSecret = "dashboard-auth-secret-0123456789-abcdefghijklmn";

    public const string ConnectionTokenType = "liveupdates+jwt";
    public const string Audience = "liveupdates";

    public static string Create(
        string userId = "42",
        IEnumerable<string>? guilds = null,
        string secret = Secret,
        DateTimeOffset? now = null,
        TimeSpan? lifetime = null,
        DateTimeOffset? notBefore = null,
        IDictionary<string, object>? extraClaims = null,
        string userIdClaim = "sub",
        bool includeExpiry = true,
        string? type = ConnectionTokenType,
        string? audience = Audience,
        string? issuer = null)
    {
        var issued = (now ?? DateTimeOffset.UtcNow).UtcDateTime;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [userIdClaim] = userId,
            ["guilds"] = (guilds ?? []).ToArray(),
        };
        if (extraClaims is not null)
        {
            foreach (var (k, v) in extraClaims)
            {
                claims[k] = v;
            }
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = issued.AddMinutes(-1),
            NotBefore = (notBefore?.UtcDateTime) ?? issued.AddMinutes(-1),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
            TokenType = type,
            Audience = audience,
            Issuer = issuer,
        };
        if (includeExpiry)
        {
            descriptor.Expires = issued + (lifetime ?? TimeSpan.FromHours(1));
        }

        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = includeExpiry };
        return handler.CreateToken(descriptor);
    }

    /// <summary>A token with <c>alg: none</c> and no signature, carrying otherwise valid claims.</summary>
    public static string Unsigned(string userId, IEnumerable<string> guilds)
    {
        var header = Base64Url("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64Url(JsonSerializer.Serialize(new
        {
            sub = userId,
            guilds = guilds.ToArray(),
            exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(),
        }));
        return $"{header}.{payload}.";
    }

    /// <summary>Flips one character of the signature.</summary>
    public static string Tamper(string token)
    {
        var chars = token.ToCharArray();
        var i = chars.Length - 5;
        chars[i] = chars[i] == 'A' ? 'B' : 'A';
        return new string(chars);
    }

    private static string Base64Url(string json) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
