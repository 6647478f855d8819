using System.Globalization;
using System.Text.Json;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>Claim checks shared by every token format: lifetime with clock skew, and the user-id claim.</summary>
internal static class TokenClaims
{
    public static TokenValidationOutcome Check(JsonElement claims, LiveUpdatesOptions options, DateTimeOffset now)
    {
        DateTimeOffset? expiresAt = null;
        if (claims.TryGetProperty("exp", out var exp))
        {
            if (!TryGetUnixTime(exp, out var value))
            {
                return TokenOutcomes.Invalid;
            }

            expiresAt = value;
            if (now > value + options.ClockSkew)
            {
                return TokenOutcomes.Expired;
            }
        }

        else
        {
            // A session token that never expires would outlive every revocation; refuse it.
            return TokenOutcomes.Invalid;
        }

        // Like jose, a present iat must be a NumericDate too; it is not otherwise checked (Auth.js sets no maxTokenAge).
        if (claims.TryGetProperty("iat", out var iat) && !TryGetUnixTime(iat, out _))
        {
            return TokenOutcomes.Invalid;
        }

        if (claims.TryGetProperty("nbf", out var nbf))
        {
            if (!TryGetUnixTime(nbf, out var value))
            {
                return TokenOutcomes.Invalid;
            }

            if (now + options.ClockSkew < value)
            {
                return TokenOutcomes.NotYetValid;
            }
        }

        var userId = ReadId(claims, options.UserIdClaim);
        if (string.IsNullOrEmpty(userId))
        {
            return TokenOutcomes.UserMissing;
        }

        return TokenValidationOutcome.Success(new AuthenticatedUser(userId, claims, expiresAt));
    }

    /// <summary>Reads a claim that holds an id: a string, or an integer (ids in JSON numbers are kept as written).</summary>
    public static string? ReadId(JsonElement claims, string name)
    {
        if (claims.ValueKind != JsonValueKind.Object || !claims.TryGetProperty(name, out var value))
        {
            return null;
        }

        return ReadId(value);
    }

    public static string? ReadId(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => GetStringOrNull(value),
        JsonValueKind.Number when value.TryGetUInt64(out var n) => n.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>
    /// Reads a JSON string, or <see langword="null"/> when its escapes encode a lone surrogate, which JSON allows and a
    /// .NET string cannot hold (<see cref="JsonElement.GetString"/> would throw).
    /// </summary>
    public static string? GetStringOrNull(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static bool TryGetUnixTime(JsonElement value, out DateTimeOffset time)
    {
        time = default;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || double.IsNaN(seconds))
        {
            return false;
        }

        const double MaxSeconds = 253402300799; // 9999-12-31T23:59:59Z
        time = DateTimeOffset.FromUnixTimeMilliseconds((long)(Math.Clamp(seconds, 0, MaxSeconds) * 1000));
        return true;
    }
}

/// <summary>The refusals, shared so that a refusal allocates nothing.</summary>
internal static class TokenOutcomes
{
    public static readonly TokenValidationOutcome Missing = TokenValidationOutcome.Failure(LiveErrorCodes.TokenMissing, "The auth message carried no token.");
    public static readonly TokenValidationOutcome Invalid = TokenValidationOutcome.Failure(LiveErrorCodes.TokenInvalid, "The token is invalid.");
    public static readonly TokenValidationOutcome Expired = TokenValidationOutcome.Failure(LiveErrorCodes.TokenExpired, "The token has expired.");
    public static readonly TokenValidationOutcome NotYetValid = TokenValidationOutcome.Failure(LiveErrorCodes.TokenNotYetValid, "The token is not valid yet.");
    public static readonly TokenValidationOutcome UserMissing = TokenValidationOutcome.Failure(LiveErrorCodes.TokenUserMissing, "The token does not name a user.");
}
