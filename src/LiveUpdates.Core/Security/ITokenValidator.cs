namespace LiveUpdates.Security;

/// <summary>
/// Checks the token a client sends in its <c>auth</c> message. The built-in validator accepts connection tokens signed
/// with <see cref="LiveUpdatesOptions.ConnectionTokenKey"/> (the format docs/security.md defines) and, when
/// <see cref="LiveUpdatesOptions.AcceptSessionTokens"/> is on, NextAuth v4 and Auth.js v5 session tokens and HS256 JWTs
/// made with <see cref="LiveUpdatesOptions.AuthSecret"/> or one of <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/>;
/// hosts may register their own.
/// </summary>
public interface ITokenValidator
{
    /// <summary>Validates <paramref name="token"/>: signature, expiry and the user-id claim.</summary>
    /// <param name="token">The token exactly as the client sent it.</param>
    /// <param name="cancellationToken">Cancelled when the connection closes or the server stops.</param>
    /// <returns>The user, or a refusal with a stable error code. Implementations return refusals rather than throw.</returns>
    ValueTask<TokenValidationOutcome> ValidateAsync(string token, CancellationToken cancellationToken);
}
