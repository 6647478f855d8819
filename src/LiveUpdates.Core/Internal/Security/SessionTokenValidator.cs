using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// The dashboard's session tokens, which <see cref="DefaultTokenValidator"/> accepts only when
/// <see cref="LiveUpdatesOptions.AcceptSessionTokens"/> is on: every dashboard token format, each checked with
/// <see cref="LiveUpdatesOptions.AuthSecret"/> and every <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/> entry.
/// The token's shape picks the format: three segments are a JWS (HS256, <see cref="HmacJwtTokenValidator"/>), five are
/// a JWE (NextAuth v4 or Auth.js v5 session token, <see cref="DirectJweTokenValidator"/>, which reads the header once and
/// dispatches on <c>enc</c>). Anything else, and anything larger than <see cref="LiveUpdatesOptions.MaxInboundMessageBytes"/>,
/// is <c>TOKEN_INVALID</c>. Keys are derived once, when the validator is created.
/// </summary>
internal sealed class SessionTokenValidator : ITokenValidator
{
    private const int JwsSegments = 3;
    private const int JweSegments = 5;

    private readonly LiveUpdatesOptions _options;
    private readonly HmacJwtTokenValidator _jws;
    private readonly DirectJweTokenValidator _jwe;

    public SessionTokenValidator(LiveUpdatesOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _jws = new HmacJwtTokenValidator(options, timeProvider);
        _jwe = new DirectJweTokenValidator(options, timeProvider);
    }

    /// <inheritdoc/>
    public ValueTask<TokenValidationOutcome> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token))
        {
            return ValueTask.FromResult(TokenOutcomes.Missing);
        }

        if (token.Length > _options.MaxInboundMessageBytes)
        {
            return ValueTask.FromResult(TokenOutcomes.TooLarge);
        }

        return (token.AsSpan().Count('.') + 1) switch
        {
            JwsSegments => _jws.ValidateAsync(token, cancellationToken),
            JweSegments => ValueTask.FromResult(_jwe.Validate(token)),
            _ => ValueTask.FromResult(TokenOutcomes.Unreadable),
        };
    }
}
