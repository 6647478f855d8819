using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Unicode;
using LiveUpdates.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// Accepts HS256 JWTs signed with <see cref="LiveUpdatesOptions.AuthSecret"/> or any of
/// <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/> (the UTF-8 bytes of the secret are the key). IdentityModel checks the
/// signature and algorithm; expiry and not-before are checked here against the <see cref="TimeProvider"/>,
/// so that tests control the clock. Refusals carry stable codes and no detail.
/// </summary>
internal sealed class HmacJwtTokenValidator : ITokenValidator
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;
    private readonly LiveUpdatesOptions _options;
    private readonly TimeProvider _timeProvider;

    public HmacJwtTokenValidator(LiveUpdatesOptions options, TimeProvider timeProvider)
    {
        var secrets = AuthSecrets.From(options);
        _options = options;

        // One size rule for every token format: what fits in an inbound message (the handler's own cap is ~250 KB).
        _handler.MaximumTokenSizeInBytes = Math.Max(options.MaxInboundMessageBytes, 1);
        _timeProvider = timeProvider;
        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false, // checked below with the TimeProvider
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
            return Refusal(ex, token);
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return Refusal(result.Exception, token);
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

        return TokenClaims.Check(claims, _options, _timeProvider.GetUtcNow());
    }

    /// <summary>Names why IdentityModel refused the token, for the log; the client gets TOKEN_INVALID whatever it is.</summary>
    private static TokenValidationOutcome Refusal(Exception? error, string token) => error switch
    {
        SecurityTokenInvalidAlgorithmException => TokenOutcomes.WrongAlgorithm,
        SecurityTokenSignatureKeyNotFoundException => TokenOutcomes.WrongKey,
        SecurityTokenInvalidSignatureException when token.EndsWith('.') => TokenOutcomes.Unsigned, // an empty signature segment
        SecurityTokenInvalidSignatureException => TokenOutcomes.WrongKey,
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
