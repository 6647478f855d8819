using System.Net.WebSockets;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Internal.Security;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Connections;

/// <summary>
/// The connection's <c>auth</c> message, called from its receive loop: the attempt bound, the token's validation, the
/// session it starts or renews (a renewed session re-checks every subscription it keeps), and refusals explained in the
/// log while the client gets only the stable code. The socket's lifecycle is in ClientConnection.cs.
/// </summary>
internal sealed partial class ClientConnection
{
    private async ValueTask AuthenticateAsync(string? token, bool batch)
    {
        lock (_gate)
        {
            if (!_session.TryCountAttempt(_server.Now))
            {
                // Each attempt costs a token decryption and a policy call: a client that loops on auth is cut off.
                const string Reason = $"more than {LiveUpdatesOptions.SectionName}:MaxAuthAttemptsPerMinute auth messages in a minute; the connection is closed";
                if (_server.RefusalLog.Count(Reason, out var suppressed))
                {
                    Log.AuthRefused(_logger, Id, _transport.RemoteEndPoint, LiveErrorCodes.TooManyAuthAttempts, Reason, suppressed);
                }
                else
                {
                    Log.AuthFailed(_logger, Id, LiveErrorCodes.TooManyAuthAttempts);
                }

                _server.Metrics.AuthFailures.Add(1, new KeyValuePair<string, object?>("code", LiveErrorCodes.TooManyAuthAttempts));
                _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.TooManyAuthAttempts, $"At most {_server.Options.MaxAuthAttemptsPerMinute} auth messages per minute.")));
                _writer.RequestCloseLocked(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseTooManyAuthAttempts, drainFirst: true);
                return;
            }
        }

        if (string.IsNullOrEmpty(token))
        {
            RefuseAuth(TokenOutcomes.Missing);
            return;
        }

        TokenValidationOutcome outcome;
        IReadOnlyList<string> guilds;
        try
        {
            outcome = await _server.TokenValidator.ValidateAsync(token, _server.Stopping.Token).ConfigureAwait(false);
            if (!outcome.IsValid)
            {
                RefuseAuth(outcome);
                return;
            }

            guilds = await _server.AccessPolicy.GetGuildsAsync(outcome.User, _server.Stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_server.Stopping.IsCancellationRequested)
        {
            Log.SeamFailed(_logger, ex, "token validator or access policy", Id);
            SendError(LiveErrorCodes.InternalError, "Authentication failed on the server; try again.");
            return;
        }

        var user = outcome.User;
        IReadOnlyList<Subscription> kept;
        lock (_gate)
        {
            if (!TryCountUserLocked(user.UserId))
            {
                return;
            }

            if (_session.Start(user))
            {
                // A different user on the same socket starts from nothing.
                LeaveRooms(_subscriptions.Clear());
            }

            kept = _subscriptions.Snapshot();

            // Packing needs messages without raw newlines: compact JSON always is; indented payloads are not.
            _writer.Batch = batch && _server.Options.MaxBatchBytes > 0 && !_server.Options.SerializerOptions.WriteIndented;
            long? expiresInMs = user.ExpiresAt is { } expiresAt ? Math.Max(0, (long)(expiresAt - _server.TimeProvider.GetUtcNow()).TotalMilliseconds) : null;
            _writer.EnqueueLocked(Control(ServerMessages.Authenticated(user.UserId, guilds, _writer.Batch, expiresInMs)));
        }

        Log.Authenticated(_logger, Id, user.UserId);

        // A renewed session is a new grant: every subscription it keeps is checked against it (a narrower token
        // ends the subscriptions it no longer allows, with FORBIDDEN, as a revocation does).
        foreach (var subscription in kept)
        {
            await _server.Dispatcher.Access.RecheckAsync(this, subscription.GuildId).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes the user's <see cref="LiveUpdatesOptions.MaxConnectionsPerUser"/> slot (a re-auth as the same user keeps
    /// its slot; as another user, it moves), or refuses: TOO_MANY_CONNECTIONS and close 1008, the user's other
    /// connections untouched.
    /// </summary>
    private bool TryCountUserLocked(string userId)
    {
        if (string.Equals(_countedUserId, userId, StringComparison.Ordinal))
        {
            return true;
        }

        if (!_server.UserConnections.TryAcquire(userId))
        {
            var max = _server.Options.MaxConnectionsPerUser;
            if (_server.RefusalLog.Count(ProtocolNames.CloseTooManyConnections, out var suppressed))
            {
                Log.TooManyConnections(_logger, Id, userId, max, LiveUpdatesOptions.SectionName, suppressed);
            }

            _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.TooManyConnections, $"At most {max} connections per user.")));
            _writer.RequestCloseLocked(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseTooManyConnections, drainFirst: true);
            return false;
        }

        if (_countedUserId is { } previous)
        {
            _server.UserConnections.Release(previous);
        }

        _countedUserId = userId;
        return true;
    }

    private void RefuseAuth(TokenValidationOutcome outcome)
    {
        var code = outcome.ErrorCode!;

        // The client gets the stable code only; the log says which check failed (never the token), once a second per reason.
        var reason = outcome.Reason ?? $"the token validator {_server.TokenValidator.GetType().Name} refused it ({outcome.Message})";
        if (_server.RefusalLog.Count(outcome.Reason ?? code, out var suppressed))
        {
            Log.AuthRefused(_logger, Id, _transport.RemoteEndPoint, code, reason, suppressed);
        }
        else
        {
            Log.AuthFailed(_logger, Id, code);
        }

        _server.Metrics.AuthFailures.Add(1, new KeyValuePair<string, object?>("code", code));
        SendError(code, outcome.Message!);
    }
}
