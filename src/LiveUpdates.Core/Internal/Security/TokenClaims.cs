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
                return TokenOutcomes.BadTime;
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
            return TokenOutcomes.NoExpiry;
        }

        // Like jose, a present iat must be a NumericDate too; it is not otherwise checked (Auth.js sets no maxTokenAge).
        if (claims.TryGetProperty("iat", out var iat) && !TryGetUnixTime(iat, out _))
        {
            return TokenOutcomes.BadTime;
        }

        if (claims.TryGetProperty("nbf", out var nbf))
        {
            if (!TryGetUnixTime(nbf, out var value))
            {
                return TokenOutcomes.BadTime;
            }

            if (now + options.ClockSkew < value)
            {
                return TokenOutcomes.NotYetValid;
            }
        }

        if (claims.TryGetProperty(options.UserIdClaim, out var userClaim) && IsInexactId(userClaim))
        {
            return TokenOutcomes.InexactUserId;
        }

        var userId = ReadId(claims, options.UserIdClaim);
        if (string.IsNullOrEmpty(userId))
        {
            return TokenOutcomes.UserMissing;
        }

        return TokenValidationOutcome.Success(new AuthenticatedUser(userId, claims, expiresAt));
    }

    /// <summary>
    /// The largest integer every JSON producer writes exactly (2^53 − 1, JavaScript's <c>Number.MAX_SAFE_INTEGER</c>).
    /// A Discord snowflake above it, put in a token as a JSON number by JavaScript, was rounded before it was signed
    /// and may name another user or guild; such ids are not read (strings are the only exact form).
    /// </summary>
    public const ulong MaxExactJsonInteger = (1UL << 53) - 1;

    /// <summary>Whether <paramref name="value"/> is an id written as a JSON number that may have been rounded (above <see cref="MaxExactJsonInteger"/>, or not an integer).</summary>
    public static bool IsInexactId(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && !(value.TryGetUInt64(out var n) && n <= MaxExactJsonInteger);

    /// <summary>Reads a claim that holds an id: a string, or an integer up to <see cref="MaxExactJsonInteger"/> (larger numbers are not read: they may be rounded).</summary>
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
        JsonValueKind.Number when value.TryGetUInt64(out var n) && n <= MaxExactJsonInteger => n.ToString(CultureInfo.InvariantCulture),
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

/// <summary>
/// The refusals, shared so that a refusal allocates nothing. Several share a client-facing code (the client learns no
/// more than <c>TOKEN_INVALID</c>); each has its own reason, which the server logs (the reasons also key the log's rate
/// limit, so they are constants).
/// </summary>
internal static class TokenOutcomes
{
    private const string InvalidMessage = "The token is invalid.";
    private const string S = LiveUpdatesOptions.SectionName;

    public static readonly TokenValidationOutcome Missing = TokenValidationOutcome.Failure(LiveErrorCodes.TokenMissing, "The auth message carried no token.", "the auth message carried no token: the dashboard's token route returned nothing");
    public static readonly TokenValidationOutcome Expired = TokenValidationOutcome.Failure(LiveErrorCodes.TokenExpired, "The token has expired.", $"it expired: its exp is in the past by more than {S}:ClockSkew");
    public static readonly TokenValidationOutcome NotYetValid = TokenValidationOutcome.Failure(LiveErrorCodes.TokenNotYetValid, "The token is not valid yet.", $"it is not valid yet: its nbf is in the future by more than {S}:ClockSkew (the dashboard's clock is ahead of the bot's)");
    public static readonly TokenValidationOutcome UserMissing = TokenValidationOutcome.Failure(LiveErrorCodes.TokenUserMissing, "The token does not name a user.", $"it has no user id in the claim named by {S}:UserIdClaim");

    public static readonly TokenValidationOutcome NoExpiry = Invalid($"it has no exp claim; session tokens must expire (set an expiry where the token is made)");
    public static readonly TokenValidationOutcome BadTime = Invalid("its exp, nbf or iat is not a number of seconds");
    public static readonly TokenValidationOutcome WrongKey = Invalid($"its signature matches neither {S}:AuthSecret nor any of {S}:AdditionalAuthSecrets: it was signed with another secret");
    public static readonly TokenValidationOutcome Unsigned = Invalid("it is unsigned (alg: none)");
    public static readonly TokenValidationOutcome WrongAlgorithm = Invalid("it is signed with another algorithm than HS256");
    public static readonly TokenValidationOutcome Unreadable = Invalid("it is not a JWT or JWE this server can read (malformed, truncated or not a token)");
    public static readonly TokenValidationOutcome TooLarge = Invalid($"it is longer than {S}:MaxInboundMessageBytes");
    public static readonly TokenValidationOutcome Critical = Invalid("its header lists critical extensions (crit) this server does not implement");
    public static readonly TokenValidationOutcome UnsupportedEncryption = Invalid("it is a JWE, but not alg dir with A256GCM or A256CBC-HS512 (a NextAuth v4 or Auth.js v5 session token)");
    public static readonly TokenValidationOutcome NotDecryptable = Invalid($"it is a session token (JWE) that no key opens: it was made with another secret than {S}:AuthSecret and {S}:AdditionalAuthSecrets, or (Auth.js v5) for a cookie name not in {S}:SessionCookieNames");
    public static readonly TokenValidationOutcome InexactUserId = Invalid($"its user id (the claim named by {S}:UserIdClaim) is a JSON number above 2^53 - 1 or not an integer, which JavaScript rounds (a snowflake written that way may name another user); put ids in tokens as strings");
    public static readonly TokenValidationOutcome BadPayload = Invalid("it opened, but its payload is not a JSON object of claims (or its header's replicated claims differ from the payload's)");

    private static TokenValidationOutcome Invalid(string reason) => TokenValidationOutcome.Failure(LiveErrorCodes.TokenInvalid, InvalidMessage, reason);
}
