using System.Diagnostics.CodeAnalysis;
using System.Net.WebSockets;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Dispatch;
using LiveUpdates.Internal.Naming;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Connections;

/// <summary>
/// The connection as a room member (<see cref="ISubscriber"/>): subscribe and unsubscribe, the join the dispatcher
/// completes, the access a re-check gives it, and delivery filtered by subscription and category. The socket's lifecycle is in
/// ClientConnection.cs.
/// </summary>
internal sealed partial class ClientConnection
{
    private async ValueTask SubscribeAsync(string guildId, long? lastSeq, string? epoch)
    {
        if (!TryAcceptSubscriptionChange(guildId, out var user))
        {
            return;
        }

        lock (_gate)
        {
            if (_subscriptions.Find(guildId) is null && _subscriptions.Count >= _server.Options.MaxGuildsPerClient)
            {
                _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.TooManyGuilds, $"At most {_server.Options.MaxGuildsPerClient} guilds per connection.", guildId)));
                _writer.RequestCloseLocked(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseTooManyGuilds, drainFirst: true);
                return;
            }
        }

        var accessVersion = _server.Dispatcher.Access.Version;
        GuildAccess access;
        try
        {
            access = await _server.AccessPolicy.GetAccessAsync(user, guildId, _server.Stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_server.Stopping.IsCancellationRequested)
        {
            Log.SeamFailed(_logger, ex, "access policy", Id);
            SendError(LiveErrorCodes.InternalError, "The subscription could not be checked; try again.", guildId);
            return;
        }

        if (!access.CanOpen)
        {
            RefuseJoin(guildId, access);
            return;
        }

        // The dispatcher queues `subscribed`, replays what the client missed and joins the room between two
        // fan-outs. Awaiting it keeps this client's messages in order (a following unsubscribe sees the join).
        var since = lastSeq is { } seq ? new StreamPosition(seq, epoch ?? string.Empty) : (StreamPosition?)null;
        if (await _server.Dispatcher.JoinAsync(new JoinWork(this, user, access, accessVersion, guildId, since), _server.Stopping.Token).ConfigureAwait(false))
        {
            Log.Subscribed(_logger, Id, user.UserId, guildId);
        }
    }

    /// <inheritdoc/>
    public bool CompleteJoin(AuthenticatedUser user, GuildAccess access, string guildId, byte[] subscribed, IReadOnlyList<OutboundFrame> replay)
    {
        lock (_gate)
        {
            if (_writer.IsClosingLocked)
            {
                return false; // the socket is closing: that is the answer
            }

            if (!ReferenceEquals(_session.User, user))
            {
                _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.SessionChanged, "The session changed while the subscription was being checked; subscribe again.", guildId)));
                return false;
            }

            _writer.EnqueueLocked(Control(subscribed));
            if (!_subscriptions.Set(guildId, access))
            {
                // Live events have been flowing all along; a replay would repeat them. The access is refreshed.
                return true;
            }

            if (replay.Count > 0)
            {
                _writer.EnqueueReplayLocked(replay.Where(frame => access.Allows(frame.Category)));
            }

            // Joining under the connection's lock: a concurrent session expiry either sees this subscription or
            // refuses it (the user check above), so a room never keeps a connection that left it.
            _server.Rooms.Add(guildId, this);
        }

        _server.Metrics.Subscriptions.Add(1);
        return true;
    }

    /// <inheritdoc/>
    public void RefuseJoin(string guildId, GuildAccess access)
    {
        LogGuildRefused(User?.UserId ?? "-", guildId, access);
        SendError(LiveErrorCodes.Forbidden, "No access to this guild.", guildId);
    }

    private void Unsubscribe(string guildId)
    {
        if (!TryAcceptSubscriptionChange(guildId, out _))
        {
            return;
        }

        lock (_gate)
        {
            if (_subscriptions.Remove(guildId))
            {
                LeaveRoom(guildId);
            }

            // Events are filtered against the subscriptions under this same lock, so none follows `unsubscribed`.
            _writer.EnqueueLocked(Control(ServerMessages.Unsubscribed(guildId)));
        }
    }

    /// <summary>The checks every subscribe/unsubscribe passes first: authenticated, a snowflake, within the rate limit.</summary>
    private bool TryAcceptSubscriptionChange(string guildId, [NotNullWhen(true)] out AuthenticatedUser? user)
    {
        user = User;
        if (user is null)
        {
            SendError(LiveErrorCodes.AuthRequired, "Send an auth message first.");
            return false;
        }

        if (!LiveNames.IsValidGuildId(guildId))
        {
            SendError(LiveErrorCodes.InvalidGuildId, "guildId must be a Discord snowflake (1 to 20 digits).");
            return false;
        }

        lock (_gate)
        {
            if (_subscriptionChanges.TryAcquire(_server.Now))
            {
                return true;
            }

            var limit = _server.Options.MaxSubscriptionChangesPerSecond;
            _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.RateLimited, $"At most {limit} subscribe/unsubscribe messages per second.")));
            _writer.RequestCloseLocked(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseRateLimited, drainFirst: true);
            return false;
        }
    }

    /// <inheritdoc/>
    public AuthenticatedUser? SubscribedAs(string guildId)
    {
        lock (_gate)
        {
            return _subscriptions.Find(guildId) is null ? null : _session.User;
        }
    }

    /// <inheritdoc/>
    public void ApplyAccess(string guildId, AuthenticatedUser user, GuildAccess access)
    {
        lock (_gate)
        {
            if (_subscriptions.Find(guildId) is null || !ReferenceEquals(_session.User, user))
            {
                return;
            }

            if (access.CanOpen)
            {
                _subscriptions.Set(guildId, access);
                return;
            }

            _subscriptions.Remove(guildId);
            LeaveRoom(guildId);
            _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.Forbidden, "Access to this guild was revoked.", guildId)));
        }

        LogGuildRefused(user.UserId, guildId, access);
    }

    /// <summary>Says which policy refused the guild and by which rule, at most once a second per rule (the client gets FORBIDDEN only).</summary>
    private void LogGuildRefused(string userId, string guildId, GuildAccess access)
    {
        const string HostPolicyRule = "host-policy";
        if (_server.RefusalLog.Count(access.Refusal?.Rule ?? HostPolicyRule, out var suppressed))
        {
            var reason = access.Refusal?.Reason ?? "it returned no access for this user and guild (GuildAccess.None)";
            Log.GuildRefused(_logger, Id, userId, guildId, _server.AccessPolicy.GetType().Name, reason, suppressed);
        }
        else
        {
            Log.SubscribeForbidden(_logger, Id, userId, guildId);
        }
    }

    /// <inheritdoc/>
    public void Deliver(OutboundFrame frame, bool writeDirectly)
    {
        lock (_gate)
        {
            // The subscription and its feature filter are checked here, per client, against the shared frame.
            if (_subscriptions.Find(frame.GuildId!) is not { } subscription || !subscription.Access.Allows(frame.Category))
            {
                return;
            }

            if (!writeDirectly || !_writer.TryBeginDirectWriteLocked())
            {
                _writer.EnqueueLocked(frame);
                return;
            }
        }

        _writer.WriteDirectly(frame);
    }

    /// <inheritdoc/>
    public void Deliver(List<OutboundFrame> frames)
    {
        lock (_gate)
        {
            if (_subscriptions.Find(frames[0].GuildId!) is not { } subscription)
            {
                return;
            }

            foreach (var frame in frames)
            {
                if (subscription.Access.Allows(frame.Category))
                {
                    _writer.EnqueueLocked(frame);
                }
            }
        }
    }

    /// <summary>
    /// Leaves the room of a subscription just removed. Called under the connection's lock, like the join
    /// (<see cref="CompleteJoin"/>), so that a room's membership always matches the subscription set: a join that
    /// races a removal either sees the member gone or is seen by the removal (lock order: connection, then room).
    /// </summary>
    private void LeaveRoom(string guildId)
    {
        if (_server.Rooms.Remove(guildId, this))
        {
            _server.Dispatcher.RoomEmptied(guildId);
        }

        _server.Metrics.Subscriptions.Add(-1);
    }

    private void LeaveRooms(Subscription[] subscriptions)
    {
        foreach (var subscription in subscriptions)
        {
            LeaveRoom(subscription.GuildId);
        }
    }
}
