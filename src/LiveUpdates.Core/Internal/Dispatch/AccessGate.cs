using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// Who may see what, over time: the access version (a number that grows with every permission re-check, so a
/// subscription resolved before one can tell), the re-check of a joining subscription, and the re-check of a whole room
/// when a guild's permissions change or a session is renewed. <see cref="Version"/> and
/// <see cref="RecheckAsync(ISubscriber, string)"/> may be called from any thread; the rest is started on the dispatch
/// loop only (<see cref="ReauthorizeRoomAsync"/> moves the version on before it returns; its checks then run off the loop).
/// </summary>
internal sealed class AccessGate(IGuildAccessPolicy policy, RoomStore rooms, LiveUpdatesOptions options, TimeProvider time, ILogger logger, CancellationToken stopping)
{
    private long _version;

    /// <summary>Gets the access version: read it before resolving a subscription's access, compare it when the subscription completes.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>What a failed or timed-out policy call amounts to: no access, and the log says why.</summary>
    private static readonly GuildAccess PolicyFailed = GuildAccess.Refused("policy-failed", "the access policy failed or did not answer within LiveUpdates:AccessCheckTimeout (logged above), so access is denied until the client subscribes again");

    /// <summary>Resolves <paramref name="join"/>'s access again (permissions or the session changed while it waited); a failure or timeout denies it.</summary>
    public async Task RecheckAsync(JoinWork join)
    {
        try
        {
            join.Access = await policy.GetAccessAsync(join.User, join.GuildId, CancellationToken.None)
                .AsTask().WaitAsync(options.AccessCheckTimeout, time).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            DispatchLog.DispatchFailed(logger, ex, "subscribe", join.GuildId);
            join.Access = PolicyFailed;
        }
    }

    /// <summary>
    /// Re-resolves the subscriptions of <paramref name="guildId"/> — every member's, or only those of
    /// <paramref name="userId"/>: the policy's cache of the guild is dropped, the version moves on (joins in flight check
    /// again), and each member re-checked gets its new access, or loses the guild.
    /// </summary>
    public async Task ReauthorizeRoomAsync(string guildId, string? userId = null)
    {
        Interlocked.Increment(ref _version);
        try
        {
            policy.Invalidate(guildId);
            var members = rooms.GetMembers(guildId);
            if (userId is not null)
            {
                members = Array.FindAll(members, m => string.Equals(m.SubscribedAs(guildId)?.UserId, userId, StringComparison.Ordinal));
            }

            if (members.Length > 0)
            {
                // Bounded: a hung policy must not stall every guild's events. Checks still running afterwards
                // apply when they finish; events in between use the previous permissions (logged).
                await Task.WhenAll(members.Select(m => RecheckAsync(m, guildId)))
                    .WaitAsync(options.AccessCheckTimeout, time).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            DispatchLog.DispatchFailed(logger, ex, userId is null ? LiveEvents.Dashboard.PermissionsUpdated : LiveEvents.Dashboard.MemberAccessUpdated, guildId);
        }
    }

    /// <summary>
    /// Re-resolves <paramref name="member"/>'s subscription to <paramref name="guildId"/>, if it has one, and applies the
    /// answer: a new feature filter, or the end of the subscription (also when the policy fails). Any thread.
    /// </summary>
    public async Task RecheckAsync(ISubscriber member, string guildId)
    {
        if (member.SubscribedAs(guildId) is not { } user)
        {
            return;
        }

        GuildAccess access;
        try
        {
            access = await policy.GetAccessAsync(user, guildId, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            // When in doubt, stop sending: the client may subscribe again and be checked afresh.
            DispatchLog.RecheckFailed(logger, ex, member.Id, guildId);
            access = PolicyFailed;
        }

        member.ApplyAccess(guildId, user, access);
    }
}
