using System.Text.Json;
using LiveUpdates.Security;
using Microsoft.IdentityModel.JsonWebTokens;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// Accepts connection tokens (the format docs/security.md defines): HS256 JWTs signed with
/// <see cref="LiveUpdatesOptions.ConnectionTokenKey"/> or one of <see cref="LiveUpdatesOptions.PreviousConnectionTokenKeys"/>,
/// whose header says <c>typ: liveupdates+jwt</c>, whose <c>aud</c> names <see cref="LiveUpdatesOptions.ConnectionTokenAudience"/>
/// and whose <c>iss</c> is <see cref="LiveUpdatesOptions.ConnectionTokenIssuer"/> when that is set. Then <c>exp</c> (required),
/// <c>nbf</c> and <c>iat</c> are checked as for every token, and the user is <c>sub</c>. The signature is checked before
/// anything else, so an unsigned or forged token learns nothing about the audience.
/// </summary>
internal sealed class ConnectionTokenValidator : ITokenValidator
{
    /// <summary>The <c>typ</c> header of a connection token (RFC 8725 §3.11 explicit typing).</summary>
    public const string TokenType = "liveupdates+jwt";

    /// <summary>The claim that names the user: always <c>sub</c> (the format is ours, so it needs no option).</summary>
    public const string UserClaim = "sub";

    private readonly HmacJwtTokenValidator _jws;
    private readonly LiveUpdatesOptions _options;

    public ConnectionTokenValidator(LiveUpdatesOptions options, TimeProvider timeProvider)
    {
        _options = options;
        _jws = new HmacJwtTokenValidator(options, timeProvider, Keys(options), TokenOutcomes.WrongConnectionKey, Check);
    }

    /// <summary>Gets a value indicating whether a key is configured; without one every connection token is refused.</summary>
    public static bool IsConfigured(LiveUpdatesOptions options) => !string.IsNullOrEmpty(options.ConnectionTokenKey);

    /// <summary>Whether a compact JWS says, in its header, that it is a connection token (read without checking it).</summary>
    public static bool IsTyped(string token)
    {
        var end = token.IndexOf('.');
        return end > 0
            && JoseHeader.TryParse(token.AsSpan(0, end), out var header)
            && string.Equals(header!.Typ, TokenType, StringComparison.OrdinalIgnoreCase);
    }

    /// <inheritdoc/>
    public ValueTask<TokenValidationOutcome> ValidateAsync(string token, CancellationToken cancellationToken) =>
        _jws.ValidateAsync(token, cancellationToken);

    private TokenValidationOutcome Check(JsonWebToken jwt, JsonElement claims, DateTimeOffset now)
    {
        // RFC 7515 §4.1.9: typ is compared case-insensitively.
        if (!string.Equals(jwt.Typ, TokenType, StringComparison.OrdinalIgnoreCase))
        {
            return TokenOutcomes.NotAConnectionToken;
        }

        if (!NamesAudience(claims, _options.ConnectionTokenAudience))
        {
            return TokenOutcomes.WrongAudience;
        }

        if (_options.ConnectionTokenIssuer is { } issuer
            && !(claims.TryGetProperty("iss", out var iss) && iss.ValueKind == JsonValueKind.String && string.Equals(TokenClaims.GetStringOrNull(iss), issuer, StringComparison.Ordinal)))
        {
            return TokenOutcomes.WrongIssuer;
        }

        // The format says sub is a string: a Discord id above 2^53 written as a JSON number was rounded by JavaScript
        // and names someone else.
        if (claims.TryGetProperty(UserClaim, out var sub) && sub.ValueKind != JsonValueKind.String)
        {
            return TokenOutcomes.SubNotAString;
        }

        return TokenClaims.Check(claims, _options, now, UserClaim);
    }

    /// <summary>RFC 7519 §4.1.3: <c>aud</c> is a string or an array of strings; one of them must be ours.</summary>
    private static bool NamesAudience(JsonElement claims, string audience)
    {
        if (!claims.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        return aud.ValueKind switch
        {
            JsonValueKind.String => string.Equals(TokenClaims.GetStringOrNull(aud), audience, StringComparison.Ordinal),
            JsonValueKind.Array => aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && string.Equals(TokenClaims.GetStringOrNull(a), audience, StringComparison.Ordinal)),
            _ => false,
        };
    }

    private static List<string> Keys(LiveUpdatesOptions options)
    {
        var keys = new List<string>();
        foreach (var key in (IEnumerable<string?>)[options.ConnectionTokenKey, .. options.PreviousConnectionTokenKeys ?? []])
        {
            if (!string.IsNullOrEmpty(key) && !keys.Contains(key, StringComparer.Ordinal))
            {
                keys.Add(key);
            }
        }

        return keys;
    }
}
