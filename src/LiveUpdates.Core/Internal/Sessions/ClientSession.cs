using LiveUpdates.Security;

namespace LiveUpdates.Internal.Sessions;

/// <summary>
/// Who one socket is: the user of its current session (none before the first successful <c>auth</c> and after the
/// token expires), the auth deadline, and the bound on <c>auth</c> attempts. Not thread-safe: the connection
/// guards it with its lock. A mutable struct kept inline in the connection (no object of its own per connection): held
/// in a field that is not readonly, never copied.
/// </summary>
internal struct ClientSession
{
    private readonly LiveUpdatesOptions _options;
    private readonly TimeProvider _time;
    private SlidingWindowLimiter _attempts;
    private long _authDeadlineFrom;

    public ClientSession(LiveUpdatesOptions options, TimeProvider time, long openedAt)
    {
        _options = options;
        _time = time;
        _attempts = new SlidingWindowLimiter(options.MaxAuthAttemptsPerMinute, TimeSpan.FromMinutes(1), time);
        _authDeadlineFrom = openedAt;
    }

    /// <summary>Gets the user of the current session, or <see langword="null"/> when there is none.</summary>
    public AuthenticatedUser? User { get; private set; }

    /// <summary>Counts an <c>auth</c> message; <see langword="false"/> when the connection already sent as many as a minute allows.</summary>
    public bool TryCountAttempt(long now) => _attempts.TryAcquire(now);

    /// <summary>Lets the window of <c>auth</c> attempts go when none is recent (see <see cref="SlidingWindowLimiter.Trim"/>).</summary>
    public void Trim(long now) => _attempts.Trim(now);

    /// <summary>Starts a session as <paramref name="user"/>; returns <see langword="true"/> when it replaces a session of another user.</summary>
    public bool Start(AuthenticatedUser user)
    {
        var otherUser = User is { } previous && !string.Equals(previous.UserId, user.UserId, StringComparison.Ordinal);
        User = user;
        return otherUser;
    }

    /// <summary>Applies the auth deadline and the token's expiry at <paramref name="now"/>; an expired session ends here.</summary>
    public SessionState Check(long now, DateTimeOffset utcNow)
    {
        if (User is not { } user)
        {
            return _time.GetElapsedTime(_authDeadlineFrom, now) > _options.AuthTimeout ? SessionState.AuthTimedOut : SessionState.Valid;
        }

        if (user.ExpiresAt is not { } expiresAt || utcNow <= expiresAt + _options.ClockSkew)
        {
            return SessionState.Valid;
        }

        // The session ends; the socket stays so the client can send a fresh auth without reconnecting.
        User = null;
        _authDeadlineFrom = now;
        return SessionState.Expired;
    }
}

/// <summary>What <see cref="ClientSession.Check"/> found.</summary>
internal enum SessionState
{
    /// <summary>Nothing to do: a valid session, or still within the auth deadline.</summary>
    Valid,

    /// <summary>No successful auth within <c>AuthTimeout</c>.</summary>
    AuthTimedOut,

    /// <summary>The session's token expired just now; the session ended.</summary>
    Expired,
}
