using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Unicode;
using LiveUpdates.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// Checks HS256 JWTs against a set of keys (the UTF-8 bytes of each secret are a key), then hands the header and claims
/// to a format's own check. Two formats use it: connection tokens (<see cref="ConnectionTokenValidator"/>, keys
/// <see cref="LiveUpdatesOptions.ConnectionTokenKey"/> and <see cref="LiveUpdatesOptions.PreviousConnectionTokenKeys"/>)
/// and, when <see cref="LiveUpdatesOptions.AcceptSessionTokens"/> is on, legacy HS256 session tokens signed with
/// <see cref="LiveUpdatesOptions.AuthSecret"/> or any of <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/>.
/// IdentityModel checks the signature and algorithm; everything else is checked by the format, against the
/// <see cref="TimeProvider"/>, so that tests control the clock. Refusals carry stable codes and no detail.
/// </summary>
internal sealed class HmacJwtTokenValidator : ITokenValidator
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;
    private readonly LiveUpdatesOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly TokenValidationOutcome _wrongKey;
    private readonly Func<JsonWebToken, JsonElement, DateTimeOffset, TokenValidationOutcome> _check;

    /// <summary>The legacy HS256 session token: signed with the dashboard's secret, claims checked by <see cref="TokenClaims.Check(JsonElement, LiveUpdatesOptions, DateTimeOffset)"/>.</summary>
    public HmacJwtTokenValidator(LiveUpdatesOptions options, TimeProvider timeProvider)
        : this(options, timeProvider, AuthSecrets.From(options), TokenOutcomes.WrongKey, (_, claims, now) => TokenClaims.Check(claims, options, now))
    {
    }

    public HmacJwtTokenValidator(
        LiveUpdatesOptions options,
        TimeProvider timeProvider,
        IEnumerable<string> secrets,
        TokenValidationOutcome wrongKey,
        Func<JsonWebToken, JsonElement, DateTimeOffset, TokenValidationOutcome> check)
    {
        _options = options;
        _wrongKey = wrongKey;
        _check = check;

        // One size rule for every token format: what fits in an inbound message (the handler's own cap is ~250 KB).
        _handler.MaximumTokenSizeInBytes = Math.Max(options.MaxInboundMessageBytes, 1);
        _timeProvider = timeProvider;
        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = false, // the format's check reads iss, aud and typ itself, after the signature
            ValidateAudience = false,
            ValidateLifetime = false, // checked by the format with the TimeProvider
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKeys = secrets.Select(s => new SymmetricSecurityKey(AuthSecrets.Bytes(s))).ToArray(),
            TryAllIssuerSigningKeys = true,
        };
    }

    public async ValueTask<TokenValidationOutcome> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token))
        {
            return TokenOutcomes.Missing;
        }

        if (token.Length > _options.MaxInboundMessageBytes)
        {
            return TokenOutcomes.TooLarge;
        }

        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(token, _parameters).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException or FormatException)
        {
            return Refusal(ex, token, _wrongKey);
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return Refusal(result.Exception, token, _wrongKey);
        }

        // Critical extensions we do not implement must be refused (RFC 7515 §4.1.11), as the JWE path does.
        if (jwt.TryGetHeaderValue<object>("crit", out _))
        {
            return TokenOutcomes.Critical;
        }

        JsonElement claims;
        try
        {
            claims = DecodePayload(jwt.EncodedPayload);
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            return TokenOutcomes.BadPayload;
        }

        return _check(jwt, claims, _timeProvider.GetUtcNow());
    }

    /// <summary>Names why IdentityModel refused the token, for the log; the client gets TOKEN_INVALID whatever it is.</summary>
    private static TokenValidationOutcome Refusal(Exception? error, string token, TokenValidationOutcome wrongKey) => error switch
    {
        SecurityTokenInvalidAlgorithmException => TokenOutcomes.WrongAlgorithm,
        SecurityTokenSignatureKeyNotFoundException => wrongKey,
        SecurityTokenInvalidSignatureException when token.EndsWith('.') => TokenOutcomes.Unsigned, // an empty signature segment
        SecurityTokenInvalidSignatureException => wrongKey,
        _ => TokenOutcomes.Unreadable,
    };

    private static JsonElement DecodePayload(string encodedPayload)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(encodedPayload.Length));
        try
        {
            var status = Base64Url.DecodeFromChars(encodedPayload, bytes, out _, out var written);
            if (status != OperationStatus.Done || !Utf8.IsValid(bytes.AsSpan(0, written)))
            {
                throw new FormatException("Payload is not base64url-encoded UTF-8.");
            }

            using var document = JsonDocument.Parse(bytes.AsMemory(0, written));
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new FormatException("Payload is not a JSON object.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
