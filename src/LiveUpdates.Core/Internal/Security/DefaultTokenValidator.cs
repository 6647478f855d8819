using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// The built-in <see cref="ITokenValidator"/>. Connection tokens (<see cref="ConnectionTokenValidator"/>) always; the
/// dashboard's session tokens (<see cref="SessionTokenValidator"/>) only when <see cref="LiveUpdatesOptions.AcceptSessionTokens"/>
/// is on. A three-part token whose header says it is a connection token goes to the connection-token check; any other
/// goes to the session-token check when that is on, else: a three-part token to the connection-token check (which
/// refuses it for its signature or its missing <c>typ</c>), and a five-part one (a session JWE) is refused with
/// <c>TOKEN_WRONG_AUDIENCE</c> without being opened. Keys are derived once, when the validator is created.
/// </summary>
internal sealed class DefaultTokenValidator : ITokenValidator
{
    private const int JwsSegments = 3;

    private readonly LiveUpdatesOptions _options;
    private readonly ConnectionTokenValidator? _connection;
    private readonly SessionTokenValidator? _session;

    public DefaultTokenValidator(LiveUpdatesOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _connection = ConnectionTokenValidator.IsConfigured(options) ? new ConnectionTokenValidator(options, timeProvider) : null;
        _session = options.AcceptSessionTokens ? new SessionTokenValidator(options, timeProvider) : null;
        if (_connection is null && _session is null)
        {
            throw new InvalidOperationException($"{LiveUpdatesOptions.SectionName}:ConnectionTokenKey (environment variable LIVEUPDATES_TOKEN_KEY) is not set.");
        }
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

        var jws = token.AsSpan().Count('.') + 1 == JwsSegments;
        if (jws && ConnectionTokenValidator.IsTyped(token))
        {
            return _connection is null ? ValueTask.FromResult(TokenOutcomes.NoConnectionKey) : _connection.ValidateAsync(token, cancellationToken);
        }

        if (_session is not null)
        {
            return _session.ValidateAsync(token, cancellationToken);
        }

        return jws
            ? _connection!.ValidateAsync(token, cancellationToken)
            : ValueTask.FromResult(token.AsSpan().Count('.') + 1 == 5 ? TokenOutcomes.SessionTokenRefused : TokenOutcomes.Unreadable);
    }
}
