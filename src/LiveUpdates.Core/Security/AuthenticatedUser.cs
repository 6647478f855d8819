using System.Runtime.InteropServices;
using System.Text.Json;

namespace LiveUpdates.Security;

/// <summary>A dashboard user whose session token was accepted by an <see cref="ITokenValidator"/>.</summary>
/// <remarks>
/// A user lives as long as each of its connections' sessions, so it is kept small: the claims are held as the token's
/// UTF-8 JSON (a few hundred bytes) rather than as a parsed document, and <see cref="Claims"/> parses them when read.
/// See docs/design-decisions.md, "The claims are kept as UTF-8".
/// </remarks>
public sealed class AuthenticatedUser
{
    // The claims' UTF-8 JSON, or null when the validator kept none (Claims is then Undefined).
    private readonly byte[]? _claims;

    /// <summary>Creates a user.</summary>
    /// <param name="userId">The user id taken from the token (by default the <c>sub</c> claim; see <see cref="LiveUpdatesOptions.UserIdClaim"/>).</param>
    /// <param name="claims">
    /// The token's claims as a JSON object, kept so that access policies can read any claim. Its JSON is copied: the
    /// document it comes from may be disposed once this returns.
    /// </param>
    /// <param name="expiresAt">When the token expires; the server ends the session's access at that moment.</param>
    /// <exception cref="ArgumentException"><paramref name="userId"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The document <paramref name="claims"/> belongs to was already disposed.</exception>
    public AuthenticatedUser(string userId, JsonElement claims, DateTimeOffset? expiresAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        UserId = userId;
        _claims = claims.ValueKind == JsonValueKind.Undefined ? null : JsonMarshal.GetRawUtf8Value(claims).ToArray();
        ExpiresAt = expiresAt;
    }

    /// <summary>Gets the user id (a Discord user id in the usual set-up).</summary>
    public string UserId { get; }

    /// <summary>Gets the token's claims as a JSON object (<see cref="JsonValueKind.Undefined"/> when the validator kept none).</summary>
    /// <remarks>
    /// Each read parses the claims anew (about a microsecond for a typical token) into an element that needs no
    /// disposal: read it once per call and keep the element in a local, rather than reading the property per claim.
    /// </remarks>
    public JsonElement Claims
    {
        get
        {
            if (_claims is null)
            {
                return default;
            }

            var reader = new Utf8JsonReader(_claims);
            return JsonElement.ParseValue(ref reader);
        }
    }

    /// <summary>Gets when the token expires, or <see langword="null"/> if it does not.</summary>
    public DateTimeOffset? ExpiresAt { get; }
}
