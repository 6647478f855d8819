using System.Diagnostics.CodeAnalysis;

namespace LiveUpdates.Security;

/// <summary>The result of <see cref="ITokenValidator.ValidateAsync(string, CancellationToken)"/>: a user, or an error code for the client.</summary>
public sealed class TokenValidationOutcome
{
    private TokenValidationOutcome(AuthenticatedUser? user, string? errorCode, string? message, string? reason = null)
    {
        User = user;
        ErrorCode = errorCode;
        Message = message;
        Reason = reason;
    }

    /// <summary>Gets a value indicating whether the token was accepted.</summary>
    [MemberNotNullWhen(true, nameof(User))]
    [MemberNotNullWhen(false, nameof(ErrorCode), nameof(Message))]
    public bool IsValid => User is not null;

    /// <summary>Gets the authenticated user when <see cref="IsValid"/> is <see langword="true"/>.</summary>
    public AuthenticatedUser? User { get; }

    /// <summary>Gets the stable error code sent to the client (one of <see cref="LiveErrorCodes"/>) when the token was refused.</summary>
    public string? ErrorCode { get; }

    /// <summary>Gets the message sent to the client when the token was refused; it must not reveal why a signature failed.</summary>
    public string? Message { get; }

    /// <summary>
    /// Gets why the built-in validators refused the token, for the server's log only (the client gets <see cref="ErrorCode"/>
    /// and <see cref="Message"/>); never the token or a secret. <see langword="null"/> for other validators.
    /// </summary>
    internal string? Reason { get; }

    /// <summary>Creates an accepted outcome.</summary>
    /// <param name="user">The authenticated user.</param>
    /// <returns>The outcome.</returns>
    public static TokenValidationOutcome Success(AuthenticatedUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new TokenValidationOutcome(user, null, null);
    }

    /// <summary>Creates a refused outcome.</summary>
    /// <param name="errorCode">A stable error code, e.g. <see cref="LiveErrorCodes.TokenExpired"/>.</param>
    /// <param name="message">A short message for the client, free of secrets and internals.</param>
    /// <returns>The outcome.</returns>
    public static TokenValidationOutcome Failure(string errorCode, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorCode);
        ArgumentException.ThrowIfNullOrEmpty(message);
        return new TokenValidationOutcome(null, errorCode, message);
    }

    /// <summary>Creates a refused outcome of a built-in validator, with the reason the log gives.</summary>
    internal static TokenValidationOutcome Failure(string errorCode, string message, string reason) => new(null, errorCode, message, reason);
}
