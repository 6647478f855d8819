using System.Text.Json;

namespace LiveUpdates.Security;

/// <summary>A dashboard user whose session token was accepted by an <see cref="ITokenValidator"/>.</summary>
public sealed class AuthenticatedUser
{
    /// <summary>Creates a user.</summary>
    /// <param name="userId">The user id taken from the token (by default the <c>sub</c> claim; see <see cref="LiveUpdatesOptions.UserIdClaim"/>).</param>
    /// <param name="claims">The token's claims as a JSON object, kept so that access policies can read any claim.</param>
    /// <param name="expiresAt">When the token expires; the server ends the session's access at that moment.</param>
    /// <exception cref="ArgumentException"><paramref name="userId"/> is empty.</exception>
    public AuthenticatedUser(string userId, JsonElement claims, DateTimeOffset? expiresAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        UserId = userId;
        Claims = claims;
        ExpiresAt = expiresAt;
    }

    /// <summary>Gets the user id (a Discord user id in the usual set-up).</summary>
    public string UserId { get; }

    /// <summary>Gets the token's claims as a JSON object (<see cref="JsonValueKind.Undefined"/> when the validator kept none).</summary>
    public JsonElement Claims { get; }

    /// <summary>Gets when the token expires, or <see langword="null"/> if it does not.</summary>
    public DateTimeOffset? ExpiresAt { get; }
}
